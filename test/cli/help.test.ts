import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Command } from "commander";
import { registerCommands } from "../../src/cli/commands/index.ts";
import { runTollgate } from "./support/run-tollgate.ts";

/**
 * `--help` for every command and subcommand. The list comes from the program itself (the same `registerCommands`
 * the CLI uses), so a command added later is covered without touching this test.
 */

function commandPaths(command: Command, parent: string[] = []): string[][] {
  return command.commands.flatMap((sub) => {
    const path = [...parent, sub.name()];
    return [path, ...commandPaths(sub, path)];
  });
}

/** Runs `work` over `items`, `limit` at a time (each is a process start). */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await work(items[i] as T);
      }
    }),
  );
  return results;
}

describe("tollgate --help", () => {
  const program = new Command("tollgate");
  registerCommands(program);
  const paths = commandPaths(program);

  it("the program has the commands the docs name", () => {
    const names = paths.map((p) => p.join(" "));
    for (const expected of ["start", "launch", "setup", "statusline", "doctor", "spend"]) {
      assert.ok(names.includes(expected), expected);
    }
    for (const group of ["keys", "teams", "developers", "customers"]) {
      for (const sub of ["create", "list", "show", "update", "delete"]) {
        assert.ok(names.includes(`${group} ${sub}`), `${group} ${sub}`);
      }
    }
    assert.ok(names.includes("keys rotate") && names.includes("keys revoke"));
  });

  it("every command and subcommand: exit 0, a Usage line naming it, nothing on stderr", async () => {
    const runs = await pool([[], ...paths], 4, async (path) => ({
      path,
      run: await runTollgate([...path, "--help"]),
    }));
    for (const { path, run } of runs) {
      const name = ["tollgate", ...path].join(" ");
      assert.equal(run.code, 0, `${name} --help: exit ${run.code}\n${run.stderr}`);
      assert.equal(run.stderr, "", name);
      // An alias shows after the name: `Usage: tollgate keys list|ls [options]`.
      assert.match(run.stdout, new RegExp(`^Usage: ${name}(\\|\\w+)? `), `${name} --help:\n${run.stdout}`);
      assert.match(run.stdout, /^Options:$/m, name);
      assert.ok(!run.stdout.includes("\u001b["), `${name}: no styling off a terminal`);
    }
    // Groups list their subcommands.
    const keys = runs.find((r) => r.path.join(" ") === "keys")?.run.stdout ?? "";
    for (const sub of ["create", "list", "show", "update", "rotate", "revoke", "delete"])
      assert.match(keys, new RegExp(`^  ${sub}\\b`, "m"), `keys --help lists ${sub}`);
  });

  it("`tollgate help <command>` is the same help", async () => {
    const [viaHelp, viaFlag] = await Promise.all([runTollgate(["help", "spend"]), runTollgate(["spend", "--help"])]);
    assert.equal(viaHelp.code, 0, viaHelp.stderr);
    assert.equal(viaHelp.stdout, viaFlag.stdout);
  });
});

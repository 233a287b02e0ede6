import assert from "node:assert/strict";
import { lstat, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { prepareGeminiOverlay, stripJsonComments, withoutOurs } from "../../src/cli/gemini-overlay.ts";

const OURS = { security: { auth: { selectedType: "gemini-api-key" } } };

/** A developer's settings file, with the comments Gemini CLI allows. */
const SETTINGS_TEXT = `{
  // signed in with Google
  "security": { "auth": { "selectedType": "oauth-personal" }, "folderTrust": { "enabled": false } },
  /* keep it quiet */
  "ui": { "theme": "GitHub" },
  "mcpServers": { "notes": { "command": "node", "args": ["/x/notes.mjs"] } }
}
`;

describe("Gemini CLI settings overlay (launch gemini)", () => {
  let root: string;
  let home: string;
  let temp: string;
  const gemini = (...p: string[]) => join(home, ".gemini", ...p);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "tollgate-overlay-"));
    home = join(root, "home");
    temp = join(root, "launch");
    await mkdir(gemini("tmp", "proj"), { recursive: true });
    await mkdir(temp);
    await writeFile(gemini("settings.json"), SETTINGS_TEXT);
    await writeFile(gemini("projects.json"), '{"a":1}\n');
    await writeFile(gemini("tmp", "proj", "logs.json"), "[]\n");
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it("shows the agent the developer's settings with ours merged over, and their other files", async () => {
    const overlay = await prepareGeminiOverlay(temp, OURS, { GEMINI_CLI_HOME: home });
    const dir = join(overlay.env.GEMINI_CLI_HOME, ".gemini");
    const seen = JSON.parse(await readFile(join(dir, "settings.json"), "utf8"));
    assert.deepEqual(seen, {
      security: { auth: { selectedType: "gemini-api-key" }, folderTrust: { enabled: false } },
      ui: { theme: "GitHub" },
      mcpServers: { notes: { command: "node", args: ["/x/notes.mjs"] } },
    });
    assert.equal(await readFile(join(dir, "tmp", "proj", "logs.json"), "utf8"), "[]\n");
    await overlay.finish();
    assert.equal(await readFile(gemini("settings.json"), "utf8"), SETTINGS_TEXT, "untouched, comments and all");
  });

  it("keeps what the agent wrote: through links, new files, and files replaced by rename", async () => {
    const overlay = await prepareGeminiOverlay(temp, OURS, { GEMINI_CLI_HOME: home });
    const dir = join(overlay.env.GEMINI_CLI_HOME, ".gemini");
    await writeFile(join(dir, "tmp", "proj", "logs.json"), '[{"message":"hi"}]\n');
    await writeFile(join(dir, "installation_id"), "new-id\n");
    await mkdir(join(dir, "history", "proj"), { recursive: true });
    await writeFile(join(dir, "history", "proj", "h.json"), "{}\n");
    // An atomic update replaces the symlink with a file in the overlay.
    await writeFile(join(dir, "projects.json.tmp"), '{"a":2}\n');
    await rename(join(dir, "projects.json.tmp"), join(dir, "projects.json"));
    await overlay.finish();

    assert.equal(await readFile(gemini("tmp", "proj", "logs.json"), "utf8"), '[{"message":"hi"}]\n');
    assert.equal(await readFile(gemini("installation_id"), "utf8"), "new-id\n");
    assert.equal(await readFile(gemini("history", "proj", "h.json"), "utf8"), "{}\n");
    assert.equal(await readFile(gemini("projects.json"), "utf8"), '{"a":2}\n');
    assert.ok((await lstat(gemini("projects.json"))).isFile());
  });

  it("writes a settings change the developer made in the session back, without our additions", async () => {
    const overlay = await prepareGeminiOverlay(temp, OURS, { GEMINI_CLI_HOME: home });
    const file = join(overlay.env.GEMINI_CLI_HOME, ".gemini", "settings.json");
    const seen = JSON.parse(await readFile(file, "utf8"));
    seen.ui.theme = "Dracula";
    await writeFile(file, JSON.stringify(seen));
    await overlay.finish();
    assert.deepEqual(JSON.parse(await readFile(gemini("settings.json"), "utf8")), {
      security: { auth: { selectedType: "oauth-personal" }, folderTrust: { enabled: false } },
      ui: { theme: "Dracula" },
      mcpServers: { notes: { command: "node", args: ["/x/notes.mjs"] } },
    });
  });

  it("works for a developer without a ~/.gemini folder", async () => {
    await rm(join(home, ".gemini"), { recursive: true });
    const overlay = await prepareGeminiOverlay(temp, OURS, { GEMINI_CLI_HOME: home });
    const dir = join(overlay.env.GEMINI_CLI_HOME, ".gemini");
    assert.deepEqual(JSON.parse(await readFile(join(dir, "settings.json"), "utf8")), OURS);
    await writeFile(join(dir, "installation_id"), "id\n");
    await overlay.finish();
    assert.equal(await readFile(gemini("installation_id"), "utf8"), "id\n");
    await assert.rejects(readFile(gemini("settings.json")), "no settings file is created for ours alone");
  });

  it("strips comments but not comment-like text inside strings", () => {
    assert.deepEqual(JSON.parse(stripJsonComments('{"u": "http://x//y", /* c */ "v": "a/*b*/" // end\n}')), {
      u: "http://x//y",
      v: "a/*b*/",
    });
  });

  it("removes additions the developer never had", () => {
    assert.deepEqual(withoutOurs({ security: { auth: { selectedType: "x" } }, ui: 1 }, OURS, { ui: 0 }), { ui: 1 });
  });
});

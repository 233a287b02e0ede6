import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Pool } from "undici";
import { benchKeyRequest, createVirtualKey } from "./admin-api.ts";
import { smallAnthropicBody } from "./bodies/small-bodies.ts";

// Governance overhead in CPU *instructions* rather than seconds: the gateway runs under valgrind's callgrind, which
// counts instructions executed — repeatable whatever else the machine is doing (npm run bench's CPU-time ratios
// swing ±15 % on a shared 2-core box). Each arm (anonymous, keyed: 1 budget + 1 rpm + 1 concurrency limit) runs
// twice, with `short` and `long` requests; the difference divided by the extra requests is the cost of one request,
// startup and JIT warm-up cancelling out. Needs `npm run build` (dist/) and valgrind. About 3 minutes.
//   node bench/governed-instructions.ts [short=1000] [long=4000]

const ADMIN = "tg-admin-bench-instructions-0001";
const [shortRuns, longRuns] = [Number(process.argv[2] ?? 1000), Number(process.argv[3] ?? 4000)];

async function totalInstructions(keyed: boolean, requests: number): Promise<number> {
  const out = mkdtempSync(join(tmpdir(), "tollgate-cg-"));
  const data = mkdtempSync(join(tmpdir(), "tollgate-cg-data-"));
  const mock = spawn(
    process.execPath,
    ["test/fixtures/mock-upstream/main.ts", "--port", "0", "--no-record", "--no-validate"],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const [line] = (await once(mock.stdout, "data")) as [Buffer];
  const mockUrl = (JSON.parse(String(line)) as { url: string }).url;
  // Background jobs (log retention, spend-anomaly checks) would run at different points of valgrind's slow runs and
  // make the short and long arms differ by more than their requests: off here, they are not per-request work.
  const config = join(data, "bench.json");
  writeFileSync(config, JSON.stringify({ retention: { logsDays: 0 }, alerts: { spendAnomalies: { enabled: false } } }));
  const gateway = spawn(
    "valgrind",
    [
      "--tool=callgrind",
      `--callgrind-out-file=${out}/cg.%p`,
      process.execPath,
      "dist/cli/main.js",
      "start",
      "--port",
      "0",
      "--data-dir",
      data,
    ],
    {
      env: {
        ...process.env,
        ANTHROPIC_API_KEY: "bench-key",
        TOLLGATE_ANTHROPIC_BASE_URL: mockUrl,
        TOLLGATE_ADMIN_TOKEN: ADMIN,
        TOLLGATE_REQUIRE_KEY: "never",
        TOLLGATE_CONFIG: config,
      },
      stdio: ["ignore", "pipe", "ignore"],
    },
  );
  let printed = "";
  gateway.stdout.on("data", (d: Buffer) => {
    printed += d.toString();
  });
  while (!/listening on (\S+)/.test(printed)) await new Promise((r) => setTimeout(r, 200));
  const url = /listening on (\S+)/.exec(printed)?.[1] ?? "";
  // Both arms create the key, so the key's creation cancels out too.
  const key = await createVirtualKey(url, ADMIN, benchKeyRequest("instructions"));
  const pool = new Pool(url, { connections: 4 });
  const headers = {
    "content-type": "application/json",
    "anthropic-version": "2023-06-01",
    "x-api-key": keyed ? key.secret : "bench-key",
    "x-mock-script": JSON.stringify({ scenario: "text" }),
  };
  const body = smallAnthropicBody();
  let sent = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (sent++ < requests) {
        const res = await pool.request({ path: "/anthropic/v1/messages", method: "POST", headers, body });
        await res.body.arrayBuffer();
        if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      }
    }),
  );
  gateway.kill("SIGTERM");
  await once(gateway, "exit");
  mock.kill("SIGTERM");
  await pool.close();
  let total = 0;
  for (const f of readdirSync(out)) {
    const m = /^summary: (\d+)/m.exec(readFileSync(join(out, f), "utf8"));
    if (m?.[1]) total += Number(m[1]);
  }
  rmSync(out, { recursive: true, force: true });
  rmSync(data, { recursive: true, force: true });
  return total;
}

const perRequest: Record<string, number> = {};
for (const arm of ["anonymous", "keyed"] as const) {
  const a = await totalInstructions(arm === "keyed", shortRuns);
  const b = await totalInstructions(arm === "keyed", longRuns);
  perRequest[arm] = (b - a) / (longRuns - shortRuns);
  console.log(`${arm}: ${Math.round(perRequest[arm] ?? 0).toLocaleString("en")} instructions per request`);
}
const ratio = (perRequest.keyed ?? 0) / (perRequest.anonymous ?? 1) - 1;
console.log(
  `governance adds ${(ratio * 100).toFixed(1)} % instructions per request (target ≤ 15 %: ${ratio <= 0.15 ? "met" : "NOT met"})`,
);

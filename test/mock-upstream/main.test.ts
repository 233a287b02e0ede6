import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { OPENAI_HEADERS, rawRequest } from "./helpers.ts";

const MAIN = fileURLToPath(new URL("../fixtures/mock-upstream/main.ts", import.meta.url));

describe("mock upstream: standalone runner", () => {
  it("prints its URL as one JSON line, serves requests, and exits cleanly on SIGTERM", async () => {
    const child = spawn(process.execPath, [MAIN, "--port", "0", "--no-record"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    try {
      let stdout = "";
      child.stdout.setEncoding("utf8");
      while (!stdout.includes("\n")) {
        const [chunk] = (await once(child.stdout, "data")) as [string];
        stdout += chunk;
      }
      const { url } = JSON.parse(stdout.split("\n")[0] ?? "") as { url: string };
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const probe = await rawRequest(`${url}/`, { method: "HEAD" });
      assert.equal(probe.status, 200);
      const chat = await rawRequest(`${url}/v1/chat/completions`, {
        headers: OPENAI_HEADERS,
        body: JSON.stringify({ model: "gpt-4o", messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(chat.status, 200);
      const exited = once(child, "exit");
      child.kill("SIGTERM");
      const [code] = (await exited) as [number | null];
      assert.equal(code, 0);
    } finally {
      if (child.exitCode === null) child.kill("SIGKILL");
    }
  });
});

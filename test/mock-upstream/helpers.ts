import { request } from "node:http";

export const ANTHROPIC_HEADERS = {
  "content-type": "application/json",
  "x-api-key": "test-key",
  "anthropic-version": "2023-06-01",
};
export const OPENAI_HEADERS = { "content-type": "application/json", authorization: "Bearer test-key" };
export const GEMINI_HEADERS = { "content-type": "application/json", "x-goog-api-key": "test-key" };

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The bytes as sent (no decompression). */
  body: Buffer;
  /** True when the connection ended before the response was complete. */
  aborted: boolean;
}

/** A plain node:http request that reports truncation instead of throwing, and never decompresses. */
export function rawRequest(
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? "POST", headers: options.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on("data", (chunk: Buffer) => chunks.push(chunk));
      res.on("aborted", () => {
        aborted = true;
      });
      res.on("error", () => {
        aborted = true;
      });
      res.on("close", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          aborted: aborted || !res.complete,
        });
      });
    });
    req.on("error", reject);
    req.end(options.body);
  });
}

export function postJson(
  url: string,
  headers: Record<string, string>,
  body: unknown,
): Promise<{ status: number; json: unknown; headers: Headers }> {
  return fetch(url, { method: "POST", headers, body: JSON.stringify(body) }).then(async (res) => ({
    status: res.status,
    json: await res.json(),
    headers: res.headers,
  }));
}

/** Parses an SSE body into events (event name, if any, and the data line). Accepts LF and CRLF framing. */
export function parseSse(text: string): { event?: string; data: string }[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) => {
      const out: { event?: string; data: string } = { data: "" };
      for (const line of block.split(/\r?\n/)) {
        if (line.startsWith("event: ")) out.event = line.slice(7);
        else if (line.startsWith("data: ")) out.data += line.slice(6);
      }
      return out;
    });
}

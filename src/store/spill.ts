import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { appendFile, mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { createInterface } from "node:readline";
import type { RequestLogRecord } from "./log-record.ts";
import { looksLikeLogRecord } from "./log-rows.ts";
import { insertLogs } from "./logs-repo.ts";
import type { Db } from "./schema.ts";

/**
 * Spill files: request-log rows the database could not take in time, one JSON record per line. They are
 * replayed into the database on the next start. One process per spill directory (the data dir) is assumed.
 */
export const SPILL_PREFIX = "request-logs-";
export const SPILL_SUFFIX = ".jsonl";

export function spillFileName(nowMs: number): string {
  const random = Math.floor(Math.random() * 0xffffffff)
    .toString(16)
    .padStart(8, "0");
  return `${SPILL_PREFIX}${nowMs}-${process.pid}-${random}${SPILL_SUFFIX}`;
}

/**
 * Appends rows through an async write stream, so spilling never blocks the event loop. A row counts as spilled
 * only once the stream has accepted it; if the disk write fails, the row is handed back through `onFailed`.
 */
export class SpillWriter {
  readonly path: string;
  readonly #stream: WriteStream;
  #broken: Error | null = null;
  #pendingWrites = 0;

  constructor(dir: string, fileName: string) {
    this.path = join(dir, fileName);
    this.#stream = createWriteStream(this.path, { flags: "a", encoding: "utf8" });
    this.#stream.on("error", (error) => {
      this.#broken ??= error;
    });
  }

  /** The first write error, or null. Once set, the caller must keep further rows elsewhere. */
  get broken(): Error | null {
    return this.#broken;
  }

  get pendingWrites(): number {
    return this.#pendingWrites;
  }

  write(record: RequestLogRecord, onFailed: (record: RequestLogRecord, error: Error) => void): void {
    this.#pendingWrites += 1;
    this.#stream.write(`${JSON.stringify(record)}\n`, (error) => {
      this.#pendingWrites -= 1;
      if (error) {
        this.#broken ??= error;
        onFailed(record, error);
      }
    });
  }

  /** Ends the stream once every accepted row is on disk. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#stream.destroyed || this.#stream.closed) {
        resolve();
        return;
      }
      this.#stream.end(() => resolve());
      this.#stream.once("error", () => resolve());
    });
  }
}

export interface ReplayResult {
  /** Spill files fully replayed and removed. */
  files: number;
  /** Records inserted (or found already present). */
  rows: number;
  /** Lines that were not a record (e.g. a line cut short by a crash); kept in `<file>.rejected`. */
  rejectedLines: number;
}

export interface ReplayOptions {
  batchSize?: number;
  /** A spill file this process is still writing, to leave alone. */
  skip?: ReadonlySet<string>;
}

/**
 * Inserts every record from the spill files in `dir` and deletes each file once all of its rows are in the
 * database. Inserts are idempotent, so a replay cut short and run again duplicates nothing. If the database
 * fails, the error propagates and the file stays for the next attempt.
 */
export async function replaySpillFiles(db: Db, dir: string, options: ReplayOptions = {}): Promise<ReplayResult> {
  const batchSize = Math.max(1, options.batchSize ?? 500);
  const result: ReplayResult = { files: 0, rows: 0, rejectedLines: 0 };
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return result;
    throw error;
  }
  const files = names.filter((n) => n.startsWith(SPILL_PREFIX) && n.endsWith(SPILL_SUFFIX)).sort();
  for (const name of files) {
    const path = join(dir, name);
    if (options.skip?.has(path)) continue;
    const rejected: string[] = [];
    let batch: RequestLogRecord[] = [];
    const lines = createInterface({ input: createReadStream(path, { encoding: "utf8" }), crlfDelay: Infinity });
    for await (const line of lines) {
      if (line.trim() === "") continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(line);
      } catch {
        parsed = undefined;
      }
      if (!looksLikeLogRecord(parsed)) {
        rejected.push(line);
        continue;
      }
      batch.push(parsed);
      if (batch.length >= batchSize) {
        await insertLogs(db, batch);
        result.rows += batch.length;
        batch = [];
      }
    }
    await insertLogs(db, batch);
    result.rows += batch.length;
    if (rejected.length > 0) {
      await mkdir(dir, { recursive: true });
      await appendFile(`${path}.rejected`, `${rejected.join("\n")}\n`, "utf8");
      result.rejectedLines += rejected.length;
    }
    await rm(path);
    result.files += 1;
  }
  return result;
}

/** Opaque keyset cursor for newest-first log pages: the (started_at, id) of the last row served. */
export interface LogCursor {
  startedAt: number;
  id: string;
}

export class InvalidCursorError extends Error {
  readonly code = "invalid_cursor";
  constructor() {
    super("invalid pagination cursor");
    this.name = "InvalidCursorError";
  }
}

export function encodeCursor(cursor: LogCursor): string {
  return Buffer.from(JSON.stringify([cursor.startedAt, cursor.id]), "utf8").toString("base64url");
}

/** Throws InvalidCursorError for anything this module did not produce. */
export function decodeCursor(text: string): LogCursor {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(text, "base64url").toString("utf8"));
    if (Array.isArray(parsed) && parsed.length === 2) {
      const [startedAt, id] = parsed as [unknown, unknown];
      if (Number.isSafeInteger(startedAt) && typeof id === "string" && id.length > 0 && id.length <= 64) {
        return { startedAt: startedAt as number, id };
      }
    }
  } catch {
    // fall through
  }
  throw new InvalidCursorError();
}

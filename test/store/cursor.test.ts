import assert from "node:assert/strict";
import { test } from "node:test";
import { decodeCursor, encodeCursor, InvalidCursorError } from "../../src/store/cursor.ts";

test("a cursor round-trips and is URL-safe", () => {
  const cursor = { startedAt: 1_767_225_600_000, id: "019b7b3c-0000-7000-8000-000000000001" };
  const text = encodeCursor(cursor);
  assert.match(text, /^[A-Za-z0-9_-]+$/);
  assert.deepEqual(decodeCursor(text), cursor);
});

test("anything else is an InvalidCursorError", () => {
  for (const bad of [
    "",
    "%%%",
    Buffer.from("{}").toString("base64url"),
    Buffer.from('[1.5,"a"]').toString("base64url"),
  ]) {
    assert.throws(() => decodeCursor(bad), InvalidCursorError);
  }
});

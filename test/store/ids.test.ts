import assert from "node:assert/strict";
import { test } from "node:test";
import { ManualClock } from "../../src/clock.ts";
import { uuidv7, uuidv7Time } from "../../src/store/ids.ts";

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

test("uuidv7 has the RFC 9562 layout and carries the clock's millisecond", () => {
  const clock = new ManualClock(Date.UTC(2026, 2, 4, 5, 6, 7, 890));
  const id = uuidv7(clock);
  assert.match(id, UUIDV7);
  assert.equal(uuidv7Time(id), clock.now());
});

test("uuidv7 keeps a 48-bit timestamp far in the future", () => {
  const clock = new ManualClock(2 ** 47 + 12345);
  assert.equal(uuidv7Time(uuidv7(clock)), 2 ** 47 + 12345);
});

test("ids from one clock sort in creation order, within a millisecond and past counter overflow", () => {
  const clock = new ManualClock();
  const ids = Array.from({ length: 10_000 }, () => uuidv7(clock));
  assert.deepEqual([...ids].sort(), ids);
  assert.equal(new Set(ids).size, ids.length);
  for (const id of ids) assert.match(id, UUIDV7);
});

test("ids stay ordered when the clock steps backwards", () => {
  const clock = new ManualClock(Date.UTC(2026, 0, 2));
  const before = uuidv7(clock);
  clock.advance(-60_000);
  const after = uuidv7(clock);
  assert.ok(after > before);
});

test("later milliseconds sort later", () => {
  const clock = new ManualClock();
  const a = uuidv7(clock);
  clock.advance(1);
  const b = uuidv7(clock);
  assert.ok(b > a);
  assert.equal(uuidv7Time(b), clock.now());
});

test("uuidv7Time rejects other strings", () => {
  assert.equal(uuidv7Time("not-a-uuid"), null);
  assert.equal(uuidv7Time("01900000-0000-4000-8000-000000000000"), null);
});

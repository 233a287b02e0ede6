import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { IdTable } from "../../src/counters/id-table.ts";

describe("IdTable", () => {
  test("gets, replaces and deletes by id; answers what it held", () => {
    const table = new IdTable<{ n: number }>();
    const a = { n: 1 };
    table.set("a", a);
    table.set("b", { n: 2 });
    assert.equal(table.size, 2);
    assert.equal(table.get("a"), a);
    assert.equal(table.has("b"), true);
    assert.equal(table.get("c"), undefined);
    table.set("a", { n: 3 });
    assert.equal(table.size, 2);
    assert.equal(table.get("a")?.n, 3);
    assert.equal(table.delete("a")?.n, 3);
    assert.equal(table.delete("a"), undefined);
    assert.equal(table.has("a"), false);
    assert.equal(table.size, 1);
  });

  test("reuses freed slots and keeps every live entry reachable through churn", () => {
    const table = new IdTable<string>();
    const live = new Map<string, string>();
    let next = 0;
    // A seeded walk: mostly one in, one out, as requests come and go.
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed / 2_147_483_648;
    };
    for (let step = 0; step < 5_000; step++) {
      if (live.size === 0 || random() < 0.52) {
        const id = `r${next++}`;
        table.set(id, `v${id}`);
        live.set(id, `v${id}`);
      } else {
        const ids = [...live.keys()];
        const id = ids[Math.floor(random() * ids.length)] as string;
        assert.equal(table.delete(id), `v${id}`);
        live.delete(id);
      }
      assert.equal(table.size, live.size);
    }
    for (const [id, value] of live) assert.equal(table.get(id), value);
    assert.deepEqual([...table.values()].sort(), [...live.values()].sort());
  });

  test("add answers a slot that deleteAt frees; a stale slot or id changes nothing", () => {
    const table = new IdTable<string>();
    const a = table.add("a", "A");
    const b = table.add("b", "B");
    table.deleteAt("a", b); // wrong slot for the id
    assert.equal(table.get("a"), "A");
    table.deleteAt("a", a);
    assert.equal(table.has("a"), false);
    table.deleteAt("a", a); // already gone
    const c = table.add("c", "C");
    assert.equal(c, a, "the freed slot is reused");
    table.deleteAt("a", a); // the slot now holds c
    assert.equal(table.get("c"), "C");
    assert.equal(table.get("b"), "B");
    assert.equal(table.size, 2);
  });

  test("values() may delete as it goes", () => {
    const table = new IdTable<number>();
    for (let i = 0; i < 10; i++) table.set(`r${i}`, i);
    const seen: number[] = [];
    for (const value of table.values()) {
      seen.push(value);
      if (value % 2 === 0) table.delete(`r${value}`);
    }
    assert.deepEqual(seen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual([...table.values()], [1, 3, 5, 7, 9]);
  });
});

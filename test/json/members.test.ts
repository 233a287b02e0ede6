import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { defaultMember, removeMember, setMember } from "../../src/json/members.ts";

const b = (s: string) => Buffer.from(s);

describe("top-level member splices", () => {
  it("removes only the top-level member, not a nested one or one named inside a string", () => {
    const body = '{"a":{"model":"inner"},"note":"\\"model\\":\\"x\\"","model":"outer","z":1}';
    const out = removeMember(b(body), "model").toString();
    assert.deepEqual(JSON.parse(out), { a: { model: "inner" }, note: '"model":"x"', z: 1 });
  });

  it("returns the same bytes when there is nothing to do or the body cannot be read", () => {
    const body = b('{"a":1}');
    assert.equal(removeMember(body, "model"), body);
    const broken = b('{"model":"x",');
    assert.equal(removeMember(broken, "model"), broken);
    assert.equal(setMember(broken, "model", '"y"'), broken);
  });

  it("sets a member in place, or adds it first (also to an empty object)", () => {
    assert.equal(setMember(b('{"x":1,"model":"a"}'), "model", '"b"').toString(), '{"x":1,"model":"b"}');
    assert.equal(setMember(b('{"x":1}'), "model", '"b"').toString(), '{"model":"b","x":1}');
    assert.equal(setMember(b(" { } "), "model", '"b"').toString(), ' {"model":"b" } ');
  });

  it("adds a default only when the member is absent", () => {
    const has = b('{"v":"mine"}');
    assert.equal(defaultMember(has, "v", '"default"'), has);
    assert.equal(defaultMember(b('{"a":1}'), "v", '"default"').toString(), '{"v":"default","a":1}');
  });
});

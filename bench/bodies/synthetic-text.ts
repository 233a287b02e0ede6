// Deterministic filler that looks like what a coding agent's history holds: source files, tool output, reasoning.
// Seeded so every run sends byte-identical bodies (results stay comparable between runs).

export type Rng = () => number;

/** mulberry32: a tiny seeded PRNG, plenty for filler text. */
export function createRng(seed: number): Rng {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(rng: Rng, items: readonly T[]): T {
  const item = items[Math.floor(rng() * items.length)];
  if (item === undefined) throw new Error("pick from an empty list");
  return item;
}

function randomChars(rng: Rng, alphabet: string, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += alphabet[Math.floor(rng() * alphabet.length)];
  return out;
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const base64 = `${base62}+/`;

/** Shaped like Anthropic's `toolu_01…` ids. */
export function toolUseId(rng: Rng): string {
  return `toolu_01${randomChars(rng, base62, 22)}`;
}

/** Shaped like a thinking block signature (opaque base64). */
export function thinkingSignature(rng: Rng): string {
  return `${randomChars(rng, base64, 4 * (90 + Math.floor(rng() * 60)))}==`;
}

export function hex(rng: Rng, length: number): string {
  return randomChars(rng, "0123456789abcdef", length);
}

export function uuid(rng: Rng): string {
  const h = hex(rng, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

const nouns = [
  "request",
  "record",
  "usage",
  "budget",
  "route",
  "provider",
  "stream",
  "chunk",
  "session",
  "price",
  "token",
  "writer",
  "batch",
  "header",
  "limit",
  "window",
  "counter",
  "config",
  "catalog",
  "meter",
] as const;
const verbs = [
  "build",
  "parse",
  "flush",
  "resolve",
  "record",
  "apply",
  "merge",
  "validate",
  "encode",
  "forward",
] as const;
const types = ["string", "number", "boolean", "Usage", "RequestLogRecord", "Headers", "Uint8Array", "Date"] as const;

function camel(a: string, b: string): string {
  return a + b.charAt(0).toUpperCase() + b.slice(1);
}

function pascal(a: string, b: string): string {
  return camel(a.charAt(0).toUpperCase() + a.slice(1), b);
}

/** A TypeScript module of roughly `lineCount` lines. */
export function sourceFile(rng: Rng, lineCount: number): string[] {
  const lines: string[] = [
    `import type { ${pascal(pick(rng, nouns), pick(rng, nouns))} } from "../${pick(rng, nouns)}/${pick(rng, nouns)}.ts";`,
    `import { ${camel(pick(rng, verbs), pick(rng, nouns))} } from "./${pick(rng, nouns)}-${pick(rng, nouns)}.ts";`,
    "",
  ];
  while (lines.length < lineCount) {
    const noun = pick(rng, nouns);
    const other = pick(rng, nouns);
    const verb = pick(rng, verbs);
    if (rng() < 0.3) {
      lines.push(`/** The ${noun} fields a ${other} needs once the upstream has answered. */`);
      lines.push(`export interface ${pascal(noun, other)} {`);
      const fields = 3 + Math.floor(rng() * 6);
      for (let i = 0; i < fields; i++) {
        lines.push(
          `  ${camel(pick(rng, nouns), pick(rng, nouns))}: ${pick(rng, types)}${rng() < 0.3 ? " | null" : ""};`,
        );
      }
      lines.push("}", "");
      continue;
    }
    lines.push(`/** ${verb.charAt(0).toUpperCase() + verb.slice(1)}s the ${noun} for one ${other}; pure, no I/O. */`);
    lines.push(
      `export function ${camel(verb, noun)}(${other}: ${pascal(other, noun)}, limit = ${Math.floor(rng() * 900) + 100}): ${pick(rng, types)} {`,
    );
    const statements = 4 + Math.floor(rng() * 10);
    for (let i = 0; i < statements; i++) {
      const a = camel(pick(rng, nouns), pick(rng, nouns));
      const b = camel(pick(rng, nouns), pick(rng, nouns));
      switch (Math.floor(rng() * 4)) {
        case 0:
          lines.push(`  const ${a}${i} = ${other}.${b} ?? ${Math.floor(rng() * 64)};`);
          break;
        case 1:
          lines.push(
            `  if (${other}.${a} > limit) {`,
            `    throw new GatewayError("${noun}_${verb}_failed", \`${noun} over \${limit}\`);`,
            "  }",
          );
          break;
        case 2:
          lines.push(`  for (const ${pick(rng, nouns)} of ${other}.${b}s) ${camel("on", a)}(${other});`);
          break;
        default:
          lines.push(`  // Keep ${a} before ${b}: the ${noun} order is part of the wire contract.`);
      }
    }
    lines.push(`  return ${camel(verb, other)}(${other});`, "}", "");
  }
  return lines.slice(0, lineCount);
}

/** `cat -n`-style numbering, as Claude Code's Read tool returns file contents. */
export function numbered(lines: readonly string[], firstLine: number): string {
  return lines.map((line, i) => `${String(firstLine + i).padStart(6)}→${line}`).join("\n");
}

const reasoningSentences = [
  "The user wants the {n} path changed without touching the {o} contract, so the edit has to stay local.",
  "Looking at {f}, the {n} is built before the {o} is resolved, which explains the ordering bug.",
  "I should check whether any test depends on the old {n} shape before renaming it.",
  "The {o} writer flushes on a timer; a batch of {n}s could be lost if the process exits between flushes.",
  "Running the type checker first is cheaper than running the whole suite.",
  "There are two callers of {f}; both pass a {n}, so widening the parameter is safe.",
  "The failing assertion compares {n} counts, so the off-by-one is probably in the {o} loop.",
  "I will make the smallest change that fixes it and then re-run only the {o} tests.",
] as const;

export function reasoning(rng: Rng, sentences: number, fileName: string): string {
  const out: string[] = [];
  for (let i = 0; i < sentences; i++) {
    out.push(
      pick(rng, reasoningSentences)
        .replaceAll("{n}", pick(rng, nouns))
        .replaceAll("{o}", pick(rng, nouns))
        .replaceAll("{f}", fileName),
    );
  }
  return out.join(" ");
}

export function repoPath(rng: Rng): string {
  return `src/${pick(rng, nouns)}/${pick(rng, nouns)}-${pick(rng, nouns)}.ts`;
}

export function testOutput(rng: Rng, file: string): string {
  const lines: string[] = [
    `> tollgate@0.1.0 test`,
    `> node --test ${file.replace("src/", "test/").replace(".ts", ".test.ts")}`,
    "",
  ];
  const cases = 6 + Math.floor(rng() * 10);
  for (let i = 0; i < cases; i++) {
    const ms = (rng() * 40).toFixed(6);
    lines.push(
      `✔ ${pick(rng, verbs)}s the ${pick(rng, nouns)} when the ${pick(rng, nouns)} is ${pick(rng, ["empty", "late", "split", "cached", "over budget"])} (${ms}ms)`,
    );
  }
  lines.push(`ℹ tests ${cases}`, "ℹ suites 1", `ℹ pass ${cases}`, "ℹ fail 0", "ℹ cancelled 0", "ℹ skipped 0");
  lines.push(`ℹ duration_ms ${(100 + rng() * 900).toFixed(3)}`);
  return lines.join("\n");
}

/**
 * Model aliases: the first step of resolve (DESIGN.md: aliases & tier overrides → routing → allowed models →
 * provider). An alias rewrites the model a client asked for — `claude-haiku-*` → `groq/llama-3.1-8b-instant` — so
 * developers keep their agents' defaults and the gateway decides what serves them.
 *
 * Lists are ordered and the first matching entry wins. Layers: the virtual key's own aliases, then its team's, then
 * the config file's `aliases`; the first layer with a match decides. The target is not aliased again (no chains, no
 * loops). `match` is an exact name or a glob (`*` any run of characters including `/`, `?` exactly one),
 * case-sensitive and anchored, as in allow-lists (governance/entities/globs.ts).
 */

export interface ModelAlias {
  match: string;
  /** The model to serve instead: `provider/model`, or a bare name resolved like a client's. */
  to: string;
}

export type AliasScope = "key" | "team" | "config";

/** Which alias rewrote a model, and where it was declared. */
export interface AliasHit {
  alias: ModelAlias;
  scope: AliasScope;
}

/** An alias list compiled for lookups; `find` gives the first entry matching a model, or null. */
export interface AliasTable {
  readonly entries: readonly ModelAlias[];
  find(model: string): AliasHit | null;
}

interface CompiledEntry {
  hit: AliasHit;
  /** null: an exact name, compared as a string. */
  pattern: RegExp | null;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+^${}()|[\]\\]/g, "\\$&");
}

export function isAliasGlob(pattern: string): boolean {
  return pattern.includes("*") || pattern.includes("?");
}

function compileEntry(alias: ModelAlias, scope: AliasScope): CompiledEntry {
  const pattern = isAliasGlob(alias.match)
    ? new RegExp(`^${escapeRegExp(alias.match).replaceAll("*", ".*").replaceAll("?", ".")}$`, "s")
    : null;
  return { hit: { alias, scope }, pattern };
}

/** Agents send the same few model names again and again: remember the answer (bounded; tables are immutable). */
const MEMO_MAX = 1000;

class CompiledAliasTable implements AliasTable {
  readonly entries: readonly ModelAlias[];
  readonly #compiled: readonly CompiledEntry[];
  readonly #memo = new Map<string, AliasHit | null>();

  constructor(layers: ReadonlyArray<readonly [AliasScope, readonly ModelAlias[]]>) {
    this.entries = layers.flatMap(([, list]) => list);
    this.#compiled = layers.flatMap(([scope, list]) => list.map((alias) => compileEntry(alias, scope)));
  }

  find(model: string): AliasHit | null {
    if (this.#compiled.length === 0) return null;
    const memo = this.#memo.get(model);
    if (memo !== undefined) return memo;
    let found: AliasHit | null = null;
    for (const entry of this.#compiled) {
      if (entry.pattern === null ? entry.hit.alias.match === model : entry.pattern.test(model)) {
        found = entry.hit;
        break;
      }
    }
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(model, found);
    return found;
  }
}

export const NO_ALIASES: AliasTable = new CompiledAliasTable([]);

/**
 * One table for several layers, searched in order: `[["key", keyAliases], ["team", teamAliases]]` answers a key's
 * match before any of its team's, which is the precedence of the layers.
 */
export function compileAliases(layers: ReadonlyArray<readonly [AliasScope, readonly ModelAlias[]]>): AliasTable {
  return layers.every(([, list]) => list.length === 0) ? NO_ALIASES : new CompiledAliasTable(layers);
}

/** The config file's list, compiled once per list (the config is immutable once loaded). */
const configTables = new WeakMap<readonly ModelAlias[], AliasTable>();

export function configAliasTable(list: readonly ModelAlias[]): AliasTable {
  let table = configTables.get(list);
  if (table === undefined) {
    table = compileAliases([["config", list]]);
    configTables.set(list, table);
  }
  return table;
}

/**
 * The model to resolve for a client's `model`: rewritten by the first alias that matches it — the key's and its
 * team's (`keyAliases`, already in that order), else the config file's — or unchanged.
 */
export function applyModelAlias(
  model: string,
  keyAliases: AliasTable | null,
  configAliases: readonly ModelAlias[],
): { model: string; hit: AliasHit | null } {
  const hit = keyAliases?.find(model) ?? configAliasTable(configAliases).find(model);
  return hit === null ? { model, hit: null } : { model: hit.alias.to, hit };
}

/** A model that served requests without a known price: its cost is recorded as unknown (null), never $0. */
export interface UnpricedModel {
  provider: string;
  model: string;
  requests: number;
  firstSeen: number;
  lastSeen: number;
}

const MAX_TRACKED = 1000;

/**
 * Remembers which provider/model pairs were served without a price, so `/api/pricing` (and the dashboard) can show
 * what needs an override. In memory, bounded; the log rows themselves keep `cost_nano_usd = null`.
 */
export class UnpricedModels {
  readonly #seen = new Map<string, UnpricedModel>();

  record(provider: string, model: string, now: number): void {
    const key = `${provider}\u0000${model}`;
    const entry = this.#seen.get(key);
    if (entry) {
      entry.requests++;
      entry.lastSeen = now;
      return;
    }
    if (this.#seen.size >= MAX_TRACKED) return;
    this.#seen.set(key, { provider, model, requests: 1, firstSeen: now, lastSeen: now });
  }

  list(): UnpricedModel[] {
    return [...this.#seen.values()].sort((a, b) => b.requests - a.requests);
  }
}

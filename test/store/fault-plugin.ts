import type {
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from "kysely";

/**
 * Turns a real database into a failing or slow one on demand: attach with `db.withPlugin(fault)`.
 * Failing: every query built through it rejects. Slow: results are held until `release()`.
 */
export class FaultPlugin implements KyselyPlugin {
  failing = false;
  queriesAttempted = 0;
  #gate: Promise<void> | null = null;
  #open: (() => void) | null = null;

  hold(): void {
    this.#gate ??= new Promise((resolve) => {
      this.#open = resolve;
    });
  }

  release(): void {
    this.#open?.();
    this.#gate = null;
    this.#open = null;
  }

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.queriesAttempted += 1;
    if (this.failing) throw new Error("injected database failure");
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    if (this.#gate !== null) await this.#gate;
    return args.result;
  }
}

import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import type { Agent } from "undici";
import { AnalyticsClient } from "./admin/analytics/client.ts";
import { registerAdminApi } from "./admin/api.ts";
import type { GovernanceRouteOptions } from "./admin/governance-routes.ts";
import { type AdminToken, loadAdminToken } from "./admin/token.ts";
import { configWebhooks } from "./alerts/config.ts";
import { AlertDispatcher, type AlertDispatcherTuning } from "./alerts/dispatcher.ts";
import { SpendAnomalyDetector } from "./alerts/spend-anomalies.ts";
import { openResponseCache } from "./cache/open.ts";
import { type Clock, systemClock } from "./clock.ts";
import type { GatewayConfig } from "./config/load.ts";
import type { CounterStore } from "./counters/counter-store.ts";
import { MemoryCounterStore } from "./counters/memory-store.ts";
import { RedisCounterStore } from "./counters/redis-store.ts";
import { BudgetAlerts } from "./governance/budget-alerts.ts";
import { BudgetGate } from "./governance/budget-gate.ts";
import { BudgetSeeder } from "./governance/budget-seed.ts";
import { reconcileConfigEntities } from "./governance/config-seed.ts";
import { loadKeySnapshot } from "./governance/entities/index.ts";
import { RateGate } from "./governance/rate-gate.ts";
import { SessionGate } from "./governance/session-gate.ts";
import { RedisSessionHints } from "./governance/session-hints.ts";
import { SnapshotSync } from "./governance/snapshot-sync.ts";
import { registerClientRoutes } from "./http/client-routes.ts";
import { registerHealthRoutes } from "./http/health-routes.ts";
import { registerMetricsRoute } from "./http/metrics-route.ts";
import { registerResponsesRoutes } from "./http/responses-routes.ts";
import { createHttpServer } from "./http/server.ts";
import { registerUiRoutes } from "./http/ui-routes.ts";
import { registerUsageRoute } from "./http/usage-route.ts";
import { PriceBook, priceOverridesSchema } from "./metering/pricing/index.ts";
import { UnpricedModels } from "./metering/unpriced.ts";
import { BudgetGauges } from "./metrics/budget-gauges.ts";
import { DogStatsdMetrics } from "./metrics/dogstatsd.ts";
import { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { teeMetrics } from "./metrics/tee.ts";
import { createUpstreamAgent } from "./passthrough/upstream-agent.ts";
import type { GatewayRuntime } from "./pipeline/runtime.ts";
import { DEFAULT_RESPONSE_STORE_TTL_DAYS, ResponseStore } from "./pipeline/stored-responses.ts";
import { ProviderRegistry } from "./providers/registry.ts";
import { ProviderHealth } from "./routing/provider-health.ts";
import { attachRoutingRules, EMPTY_ROUTER, RoutingRules } from "./routing/rules/index.ts";
import { routingBudgetFigures } from "./routing/rules/wiring.ts";
import { SessionAffinity } from "./routing/session-affinity.ts";
import { type Database, openDatabase } from "./store/database.ts";
import { LogWriter } from "./store/log-writer.ts";
import { SqlResponseStore } from "./store/responses-repo.ts";
import { DEFAULT_LOG_RETENTION_DAYS, LogRetention } from "./store/retention.ts";
import { createTracer } from "./telemetry/tracing.ts";

export interface Gateway {
  readonly app: FastifyInstance;
  readonly runtime: GatewayRuntime;
  readonly database: Database;
  readonly logWriter: LogWriter;
  readonly prices: PriceBook;
  readonly adminToken: AdminToken;
  /** Delivers budget alerts to webhooks (background; `tick()` runs one pass). */
  readonly alertDispatcher: AlertDispatcher;
  /** Deletes raw log rows past `retention.logsDays` (background; `runOnce()` runs one pass). */
  readonly retention: LogRetention;
  /** Spend-rate anomaly alerts (background; `runOnce()` checks now); null when `alerts.spendAnomalies.enabled` is false. */
  readonly spendAnomalies: SpendAnomalyDetector | null;
  /** Starts listening; resolves to the base URL. */
  listen(): Promise<string>;
  /** Stops accepting, lets in-flight requests finish (up to `drainMs`), flushes the request log, closes everything. */
  close(drainMs?: number): Promise<void>;
}

export interface GatewayDeps {
  clock?: Clock;
  /** Operator warnings; default: stderr, each distinct message once. */
  warn?: (message: string) => void;
  /** PostgreSQL only: schema for every table (tests). */
  databaseSchema?: string;
  /** Hooks for the governance management routes. */
  governance?: GovernanceRouteOptions;
  /** Alert delivery timings (poll interval, backoff, timeout). */
  alertDelivery?: AlertDispatcherTuning;
  /** Waits between upstream retries (default: a timer); tests pass one that advances their ManualClock. */
  sleep?: (ms: number) => Promise<void>;
  /** Randomness for weighted routing, key picks and backoff jitter (default Math.random); tests pass a seeded one. */
  random?: () => number;
}

/** The one place that wires implementations together (DESIGN.md: the hot path never waits on a database). */
export async function createGateway(config: GatewayConfig, deps: GatewayDeps = {}): Promise<Gateway> {
  const clock = deps.clock ?? systemClock;
  const warn = deps.warn ?? onceToStderr();
  const random = deps.random ?? Math.random;
  await mkdir(config.dataDir, { recursive: true });
  const database = await openDatabase({
    url: config.databaseUrl ?? undefined,
    dataDir: config.dataDir,
    ...(deps.databaseSchema ? { schema: deps.databaseSchema } : {}),
  });
  const logWriter = new LogWriter({ db: database.db, spillDir: join(config.dataDir, "spill"), clock });
  const replayed = await logWriter.replaySpill();
  if (replayed.rows > 0) warn(`replayed ${replayed.rows} request-log rows spilled to disk by an earlier run`);

  const overrides = priceOverridesSchema.safeParse(config.priceOverrides);
  if (!overrides.success)
    throw new Error(`pricing.overrides in the config file are invalid: ${overrides.error.message}`);
  const prices = new PriceBook({ overrides: overrides.data, clock, fallback: config.priceFallback });

  const upstream: Agent = createUpstreamAgent(config.timeouts);
  const counters = await openCounters(config, clock, deps.clock, warn);
  const hints = await openSessionHints(config);
  const budgets = new BudgetGate(counters, prices, clock, config.budgetEnforcement, hints);
  // Threshold alerts (50/80/95/100 %) recorded off the request path, for the observability issue to deliver.
  const alerts = new BudgetAlerts({ db: database.db, counters, clock, warn });
  budgets.setSettleListener((items) => alerts.afterSettle(items));
  const rates = new RateGate(counters);
  const sessions = new SessionGate(counters, clock);
  // Processes sharing a database hear of each other's governance changes; the version is read before the first load.
  const governanceSync = config.redisUrl
    ? new SnapshotSync({ url: config.redisUrl, prefix: config.redisPrefix, warn })
    : null;
  await governanceSync?.connect();
  // Entities declared in the config file, reconciled before the data plane first reads them.
  if (config.governance) {
    const seeded = await reconcileConfigEntities(database.db, config.governance, clock);
    for (const message of seeded.warnings) warn(message);
    const changed = seeded.created.length + seeded.updated.length + seeded.deactivated.length + seeded.deleted.length;
    if (changed > 0) await governanceSync?.announce();
  }
  const metrics = new GatewayMetrics({
    config: config.metrics,
    budgets: new BudgetGauges({
      governance: () => runtime.governance,
      standing: (list) => budgets.standing(list),
      clock,
      keyBudgets: config.metrics.keyLabels,
      developerBudgets: config.metrics.developerLabels,
      warn,
    }),
    warn,
  });
  // Optional DogStatsD export to a Datadog Agent, fed the same rows as the Prometheus metrics.
  const dogstatsd = config.metrics.dogstatsd
    ? new DogStatsdMetrics({ config: config.metrics, dogstatsd: config.metrics.dogstatsd, warn })
    : null;
  const tracer = createTracer(config.telemetry);
  const runtime: GatewayRuntime = {
    config,
    registry: new ProviderRegistry(config.providers),
    router: EMPTY_ROUTER,
    governance: await loadKeySnapshot(database.db, { clock }),
    budgets,
    rates,
    sessions,
    prices,
    logs: logWriter,
    upstream,
    clock,
    warn,
    unpriced: new UnpricedModels(),
    metrics: dogstatsd ? teeMetrics(metrics, dogstatsd) : metrics,
    cache: openResponseCache(config, database, warn),
    // Responses API state for calls translated to another provider (previous_response_id, store).
    responses: new ResponseStore(new SqlResponseStore(database.db), {
      ttlDays: config.responses?.storeTtlDays ?? DEFAULT_RESPONSE_STORE_TTL_DAYS,
      clock,
      warn,
    }),
    tracer,
    affinity: new SessionAffinity(clock),
    sleep: deps.sleep ?? ((ms) => delay(ms)),
    random,
    health: new ProviderHealth({
      clock,
      random,
      keyCooldownMs: config.routing.keyCooldownMs,
      breaker: config.routing.breaker,
    }),
  };
  // Budget counters start from the request log's spend in each budget's current window (restarts forget nothing).
  const seeder = new BudgetSeeder(database.db, counters, budgets, clock);
  await seeder.seed(runtime.governance);
  // A local write and a remote announcement may reload at once: a load that started earlier never replaces a later one.
  let loadsStarted = 0;
  let loadApplied = 0;
  const reloadGovernance = async () => {
    const load = ++loadsStarted;
    const snapshot = await loadKeySnapshot(database.db, { clock });
    if (load < loadApplied) return;
    // Counters before the snapshot: a request admitted against a new budget and settled while the seed queried
    // the log would be overwritten by it.
    try {
      await seeder.seed(snapshot);
    } finally {
      // Published even if seeding failed (a revocation must not wait on the counters); the error still reaches
      // the caller, and the reload is retried.
      if (load >= loadApplied) {
        loadApplied = load;
        runtime.governance = snapshot;
      }
    }
  };
  // Routing rules: compiled at start and on every change (theirs through the API, others' through the sync).
  const routingFigures = routingBudgetFigures({ counters, budgets, rates, clock, warn, runtime: () => runtime });
  const routing = new RoutingRules({
    db: database.db,
    clock,
    apply: (set) => {
      runtime.router = set;
    },
    ...routingFigures,
    ...(config.routingRules?.timeZone ? { timeZone: config.routingRules.timeZone } : {}),
    announce: async () => governanceSync?.announce(),
    warn,
  });
  attachRoutingRules(runtime, routing);
  const seededRules = await routing.seed(config.routingRules ?? null);
  if (seededRules.changed > 0) await governanceSync?.announce();
  routingFigures.snapshot?.start();
  governanceSync?.start(async () => {
    await Promise.all([reloadGovernance(), routing.reload()]);
  });
  const adminToken = await loadAdminToken(config.adminToken, config.dataDir);

  const app = createHttpServer(runtime);
  registerHealthRoutes(app, runtime, database);
  registerMetricsRoute(app, metrics, { token: config.metrics.token, host: config.host, warn });
  registerClientRoutes(app, runtime);
  registerResponsesRoutes(app, runtime);
  registerUsageRoute(app, runtime, database, logWriter);
  registerUiRoutes(app);
  // Spend analytics run on their own worker thread and connection (started on first use), off this event loop.
  const analytics = new AnalyticsClient({
    connection:
      database.kind === "sqlite"
        ? { kind: "sqlite", filename: database.location, busyTimeoutMs: 5000 }
        : {
            kind: "postgres",
            url: config.databaseUrl ?? "",
            poolSize: 2,
            ...(deps.databaseSchema ? { schema: deps.databaseSchema } : {}),
          },
    database,
    warn,
  });
  await registerAdminApi(app, {
    runtime,
    database,
    logWriter,
    prices,
    analytics,
    adminToken: adminToken.token,
    alerts,
    governance: {
      ...deps.governance,
      // A change answers only once the data plane sees it: read-your-writes for the admin client.
      onChange: async (change) => {
        await deps.governance?.onChange?.(change);
        try {
          await reloadGovernance();
        } finally {
          // The write is committed even if this process failed to reload: the others must still hear of it.
          await governanceSync?.announce();
        }
      },
    },
  });

  const alertDispatcher = new AlertDispatcher({
    ...deps.alertDelivery,
    db: database.db,
    clock,
    warn,
    governance: () => runtime.governance,
    standing: (list) => budgets.standing(list),
    beforeTick: () => alerts.flush(),
    configWebhooks: configWebhooks(config.alerts, clock.now()),
  });
  alertDispatcher.start();
  const retention = new LogRetention({
    db: database.db,
    clock,
    warn,
    logsDays: config.retention?.logsDays ?? DEFAULT_LOG_RETENTION_DAYS,
    // Rows inside a budget's current window stay: the budget seed rebuilds counters from them.
    keepFrom: () => {
      const now = clock.now();
      let keep = Number.POSITIVE_INFINITY;
      for (const b of runtime.governance.budgetsById.values()) {
        const window = budgets.counterKey(b, now);
        keep = Math.min(keep, window.end === null ? (b.anchorAt ?? b.createdAt) : window.start);
      }
      return keep;
    },
  });
  retention.start();
  const anomalyConfig = config.alerts?.spendAnomalies;
  const spendAnomalies =
    anomalyConfig?.enabled === false
      ? null
      : new SpendAnomalyDetector({
          db: database.db,
          clock,
          warn,
          governance: () => runtime.governance,
          factor: anomalyConfig?.factor ?? 5,
          minSpendNanoUsd: Math.round((anomalyConfig?.minSpendUsd ?? 1) * 1e9),
          intervalMs: (anomalyConfig?.checkIntervalSeconds ?? 300) * 1000,
        });
  spendAnomalies?.start();

  let closing: Promise<void> | null = null;
  return {
    app,
    runtime,
    database,
    logWriter,
    prices,
    adminToken,
    alertDispatcher,
    retention,
    spendAnomalies,
    async listen() {
      return app.listen({ host: config.host, port: config.port });
    },
    close(drainMs = 10_000) {
      closing ??= (async () => {
        // In-flight streams get `drainMs` to finish; then their sockets are cut (and they are logged as cut).
        const timer = setTimeout(() => app.server.closeAllConnections(), drainMs);
        timer.unref();
        await app.close();
        clearTimeout(timer);
        await governanceSync?.close();
        await logWriter.close();
        await alerts.close();
        await alertDispatcher.close();
        await retention.close();
        await spendAnomalies?.close();
        await routing.close();
        await analytics.close();
        await counters.close();
        await hints?.close();
        await upstream.close();
        // Spans of the drained requests are exported before exit.
        await tracer.close().catch((err: unknown) => warn(`trace export on shutdown failed: ${String(err)}`));
        await dogstatsd?.close();
        await runtime.cache?.close();
        await runtime.responses?.close();
        await database.close();
      })();
      return closing;
    },
  };
}

/**
 * In-process counters by default; Redis (atomic Lua scripts) when several gateway processes share them. Redis runs
 * on Redis TIME unless a clock was injected (tests): then the scripts see the same time as the rest of the gateway.
 */
/** Session hints shared through Redis when processes share counters (governance/session-hints.ts). */
async function openSessionHints(config: GatewayConfig): Promise<RedisSessionHints | null> {
  if (!config.redisUrl) return null;
  const hints = new RedisSessionHints(config.redisUrl, config.redisPrefix);
  await hints.connect();
  return hints;
}

async function openCounters(
  config: GatewayConfig,
  clock: Clock,
  injected: Clock | undefined,
  warn: (message: string) => void,
): Promise<CounterStore> {
  if (!config.redisUrl) return new MemoryCounterStore({ clock });
  const store = new RedisCounterStore({
    url: config.redisUrl,
    prefix: config.redisPrefix,
    onUnavailable: config.redisOnUnavailable,
    onError: (err) =>
      warn(
        `Redis counters unreachable (during ${err.operation}); ${config.redisOnUnavailable === "fail-open" ? "admitting requests uncounted (fail-open)" : "refusing governed requests (fail-closed)"}`,
      ),
    ...(injected ? { clock: injected } : {}),
  });
  await store.connect();
  return store;
}

function onceToStderr(): (message: string) => void {
  const seen = new Set<string>();
  return (message) => {
    if (seen.has(message)) return;
    if (seen.size > 1000) seen.clear();
    seen.add(message);
    console.error(`tollgate: ${message}`);
  };
}

import type { BudgetAlerts } from "../governance/budget-alerts.ts";
import type { PriceBook } from "../metering/pricing/index.ts";
import type { GatewayRuntime } from "../pipeline/runtime.ts";
import type { Database } from "../store/database.ts";
import type { LogWriter } from "../store/log-writer.ts";
import type { AnalyticsClient } from "./analytics/client.ts";
import type { GovernanceRouteOptions } from "./governance-routes.ts";

/** What the management API works with. */
export interface AdminContext {
  runtime: GatewayRuntime;
  database: Database;
  logWriter: LogWriter;
  prices: PriceBook;
  adminToken: string;
  /** Spend analytics on a worker thread (`GET /api/spend`); absent: computed in-process. */
  analytics?: AnalyticsClient;
  /** Budget threshold alerts (GET /api/alerts flushes their queue first). */
  alerts?: BudgetAlerts;
  /** Hooks for the governance routes (spend view, change notifications); tests and later issues set them. */
  governance?: GovernanceRouteOptions;
}

import type { Migration, MigrationProvider } from "kysely/migration";
import { initialMigration } from "./0001-initial.ts";
import { governanceMigration } from "./0002-governance.ts";
import { logAttributionMigration } from "./0003-log-attribution.ts";
import { sessionCapsMigration } from "./0004-session-caps.ts";
import { budgetAlertsMigration } from "./0005-budget-alerts.ts";
import { configManagedMigration } from "./0006-config-managed.ts";
import { logTranslationMigration } from "./0007-log-translation.ts";
import { modelAliasesMigration } from "./0008-model-aliases.ts";
import { responseCacheMigration } from "./0009-response-cache.ts";
import { alertWebhooksMigration } from "./0010-alert-webhooks.ts";
import { spendRollupMigration } from "./0011-spend-rollup.ts";
import { logRoutingCacheMigration } from "./0012-log-routing-cache.ts";
import { routingRulesMigration } from "./0013-routing-rules.ts";
import { rollupCacheSavingsMigration } from "./0014-rollup-cache-savings.ts";
import { alertKindsMigration } from "./0015-spend-alert-kinds.ts";
import { cacheSemanticVectorsMigration } from "./0016-cache-semantic-vectors.ts";
import { sessionRollupMigration } from "./0017-session-rollup.ts";
import { providerKeyRoutingMigration } from "./0018-provider-key-routing.ts";
import { responseStoreMigration } from "./0019-response-store.ts";

/**
 * Every migration, in order, as code (not files found at runtime), so they run the same from src/ and dist/.
 * Names sort in application order; never rename or edit a released one — add the next number instead.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  "0001_initial": initialMigration,
  "0002_governance": governanceMigration,
  "0003_log_attribution": logAttributionMigration,
  "0004_session_caps": sessionCapsMigration,
  "0005_budget_alerts": budgetAlertsMigration,
  "0006_config_managed": configManagedMigration,
  "0007_log_translation": logTranslationMigration,
  "0008_model_aliases": modelAliasesMigration,
  "0009_response_cache": responseCacheMigration,
  "0010_alert_webhooks": alertWebhooksMigration,
  "0011_spend_rollup": spendRollupMigration,
  "0012_log_routing_cache": logRoutingCacheMigration,
  "0013_routing_rules": routingRulesMigration,
  "0014_rollup_cache_savings": rollupCacheSavingsMigration,
  "0015_spend_alert_kinds": alertKindsMigration,
  "0016_cache_semantic_vectors": cacheSemanticVectorsMigration,
  "0017_session_rollup": sessionRollupMigration,
  "0018_provider_key_routing": providerKeyRoutingMigration,
  "0019_response_store": responseStoreMigration,
};

export const migrationProvider: MigrationProvider = {
  getMigrations: async () => ({ ...migrations }),
};

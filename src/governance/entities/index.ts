/** Governance entities: customers, teams, developers, virtual keys, budgets, rate limits. */
export type { DeleteResult } from "./cascade.ts";
export { ID_PREFIXES } from "./context.ts";
export { type FieldIssue, GovernanceError, type GovernanceErrorKind } from "./errors.ts";
export { compileNameMatcher, type NameMatcher } from "./globs.ts";
export {
  generateVirtualKeySecret,
  hashVirtualKeySecret,
  isWellFormedVirtualKey,
  looksLikeVirtualKey,
  type NewSecret,
  VIRTUAL_KEY_PREFIX,
} from "./key-material.ts";
export type { CreatedKey } from "./keys-repo.ts";
export {
  type GovernanceAction,
  type GovernanceChange,
  type GovernanceEntity,
  GovernanceRepository,
  type GovernanceRepositoryOptions,
} from "./repository.ts";
export * from "./schemas.ts";
export {
  type AccessDecision,
  authenticateVirtualKey,
  type BudgetSnapshot,
  checkKeyAccess,
  type EntityRef,
  type GovernanceSnapshot,
  type KeyAccess,
  type KeyAuthResult,
  type KeyHashEntry,
  type KeyRejection,
  loadKeySnapshot,
  type RateLimitSnapshot,
  type VirtualKeySnapshot,
} from "./snapshot.ts";
export type { GovernanceDb, GovernanceTables } from "./tables.ts";
export { governanceDb } from "./tables.ts";
export * from "./types.ts";

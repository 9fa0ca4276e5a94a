export type { MigrateOutcome, MigrationResult } from "./db/migrate";
export { migrateToLatest } from "./db/migrate";
export type { ControlStore } from "./store/control-store";
export type { StoreLocation } from "./store/open-store";
export { openStore } from "./store/open-store";
export type * from "./store/records";

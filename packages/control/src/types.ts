import type { Logger, PluginSharedState } from "@llmux/callbacks";
import type { ControlStore } from "./store/control-store";

/** Options of `createControlPlane` (the config's general_settings map onto them, see createPlugin). */
export interface ControlPlaneOptions {
  /** PostgreSQL URL (general_settings.database_url or DATABASE_URL). Wins over `dataDir`. */
  databaseUrl?: string;
  /** PGlite data directory (general_settings.key_store), or "memory://" (the default) for tests. */
  dataDir?: string;
  /** An already opened store (tests, custom hosting); the plane does not close it. */
  store?: ControlStore;
  /**
   * Whether a bearer token is the master key (admin). The gateway passes its own check; without one,
   * only admin virtual keys (user_role proxy_admin) may use the management API — or anyone, when
   * `openManagement` is set.
   */
  isMasterKey?(token: string): boolean;
  /** Let requests without an admin key use the management API (a gateway with no master key). */
  openManagement?: boolean;
  /** Counters for rpm/tpm/parallel limits (the gateway's SharedState: memory or Redis). Default: in memory. */
  sharedState?: PluginSharedState;
  /** How long a cached key/user/team is trusted before a refresh (general_settings.user_api_key_cache_ttl, s). Default 10 s. */
  cacheTtlMs?: number;
  /** How often buffered spend is written (general_settings.proxy_batch_write_at, s). Default 1 s. */
  flushIntervalMs?: number;
  /** Spend rows kept in memory while the database is away (beyond: oldest dropped, counted). Default 100 000. */
  maxBufferedSpendRows?: number;
  /** Delete spend logs older than this (general_settings.maximum_spend_logs_retention_period, e.g. "90d"). */
  retention?: string;
  logger?: Logger;
  now?: () => number;
}

export interface ControlPlaneStats {
  store: string;
  spendRowsBuffered: number;
  spendRowsWritten: number;
  spendRowsDropped: number;
  spendWriteErrors: number;
  databaseDegraded: boolean;
}

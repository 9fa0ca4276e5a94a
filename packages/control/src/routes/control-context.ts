import type { RecordCache } from "../enforce/record-cache";
import type { ControlStore } from "../store/control-store";
import type { RouteKit } from "./route-kit";

/** What every management route gets: the store, the enforcer's cache (invalidated on writes), auth. */
export interface ControlContext {
  store: ControlStore;
  cache: RecordCache;
  kit: RouteKit;
  now(): number;
  /** Pending (not yet written) spend, so /key/info shows what the budget check sees. */
  pendingSpend(kind: "key" | "user" | "team", id: string): number;
}

import type { RoutingStrategyName } from "../../config/types";
import { costBased } from "./cost-based";
import { latencyBased } from "./latency-based";
import { leastBusy } from "./least-busy";
import { simpleShuffle } from "./simple-shuffle";
import type { RoutingStrategy } from "./types";
import { usageBased } from "./usage-based";

export function strategyByName(
  name: RoutingStrategyName,
  args: Record<string, unknown> = {},
): RoutingStrategy {
  switch (name) {
    case "simple-shuffle":
      return simpleShuffle;
    case "least-busy":
      return leastBusy;
    case "latency-based-routing":
      return latencyBased({
        buffer: typeof args.lowest_latency_buffer === "number" ? args.lowest_latency_buffer : 0.1,
      });
    case "usage-based-routing":
    case "usage-based-routing-v2":
      return usageBased;
    case "cost-based-routing":
      return costBased;
  }
}

export type { RoutingStrategy, StrategyContext } from "./types";
export { costBased, latencyBased, leastBusy, simpleShuffle, usageBased };

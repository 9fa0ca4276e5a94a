import type { RoutingStrategy } from "./types";
import { pickLowest } from "./types";

/** Cheapest expected cost for this request (its token estimate × each deployment's prices); unpriced last. */
export const costBased: RoutingStrategy = (candidates, context) =>
  pickLowest(
    candidates,
    (deployment) => context.expectedCost(deployment) ?? Number.POSITIVE_INFINITY,
    context.random,
  );

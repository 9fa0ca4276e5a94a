import type { RoutingStrategy } from "./types";
import { pickLowest } from "./types";

/** The deployment with the fewest calls in flight; ties broken at random. */
export const leastBusy: RoutingStrategy = (candidates, context) =>
  pickLowest(candidates, (deployment) => context.state.inFlight(deployment.id), context.random);

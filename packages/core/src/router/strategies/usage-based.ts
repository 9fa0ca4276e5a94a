import type { RoutingStrategy } from "./types";
import { pickLowest } from "./types";

/**
 * Lowest share of the tpm (else rpm) limit used this minute. Deployments that would exceed their
 * limits are already excluded by the router before any strategy runs.
 */
export const usageBased: RoutingStrategy = (candidates, context) =>
  pickLowest(
    candidates,
    (deployment) => {
      const usage = context.state.usage(deployment.id, context.now);
      if (deployment.tpm) return usage.tokens / deployment.tpm;
      if (deployment.rpm) return usage.requests / deployment.rpm;
      return usage.tokens;
    },
    context.random,
  );

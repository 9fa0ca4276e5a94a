import type { RoutingStrategy } from "./types";
import { pickRandom, pickWeighted } from "./types";

/**
 * Weighted random choice. Weights: each deployment's `weight` when any deployment of the group sets
 * one (unset weights count as 1, never 0); else `rpm` when all set it; else `tpm` when all set it;
 * else uniform.
 */
export const simpleShuffle: RoutingStrategy = (candidates, context) => {
  if (candidates.some((deployment) => deployment.weight !== undefined)) {
    return pickWeighted(
      candidates,
      candidates.map((deployment) => deployment.weight ?? 1),
      context.random,
    );
  }
  if (candidates.every((deployment) => deployment.rpm !== undefined)) {
    return pickWeighted(
      candidates,
      candidates.map((deployment) => deployment.rpm!),
      context.random,
    );
  }
  if (candidates.every((deployment) => deployment.tpm !== undefined)) {
    return pickWeighted(
      candidates,
      candidates.map((deployment) => deployment.tpm!),
      context.random,
    );
  }
  return pickRandom(candidates, context.random);
};

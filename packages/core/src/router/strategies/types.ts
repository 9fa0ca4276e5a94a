import type { Deployment } from "../../config/types";
import type { RouterState } from "../router-state";

export interface StrategyContext {
  state: RouterState;
  now: number;
  /** A number in [0, 1): injectable for deterministic tests. */
  random: () => number;
  stream: boolean;
  estimatedInputTokens: number;
  /** Expected output tokens (max_tokens when given). */
  estimatedOutputTokens: number;
  /** Expected cost of this request on a deployment, or null when unpriced. */
  expectedCost: (deployment: Deployment) => number | null;
}

/** Chooses one deployment among healthy candidates (never empty). */
export type RoutingStrategy = (candidates: readonly Deployment[], context: StrategyContext) => Deployment;

export function pickRandom<T>(items: readonly T[], random: () => number): T {
  return items[Math.min(items.length - 1, Math.floor(random() * items.length))]!;
}

export function pickWeighted<T>(items: readonly T[], weights: readonly number[], random: () => number): T {
  let total = 0;
  for (const weight of weights) total += weight;
  if (total <= 0) return pickRandom(items, random);
  let point = random() * total;
  for (let index = 0; index < items.length; index++) {
    point -= weights[index]!;
    if (point < 0) return items[index]!;
  }
  return items[items.length - 1]!;
}

/** Random among the items whose score equals the minimum. */
export function pickLowest<T>(items: readonly T[], score: (item: T) => number, random: () => number): T {
  let best = Number.POSITIVE_INFINITY;
  let ties: T[] = [];
  for (const item of items) {
    const value = score(item);
    if (value < best) {
      best = value;
      ties = [item];
    } else if (value === best) ties.push(item);
  }
  return ties.length > 0 ? pickRandom(ties, random) : pickRandom(items, random);
}

import type { RoutingStrategy } from "./types";
import { pickRandom } from "./types";

export interface LatencyOptions {
  /** Deployments within (1 + buffer) × the fastest average share the load. Default 0.1. */
  buffer?: number;
}

/**
 * Lowest average latency over a moving window (time to first token for streams). Deployments with
 * no samples yet are probed first; near-equals (within the buffer) share the load at random.
 */
export function latencyBased(options: LatencyOptions = {}): RoutingStrategy {
  const buffer = options.buffer ?? 0.1;
  return (candidates, context) => {
    const kind = context.stream ? "ttft" : "latency";
    const unmeasured = candidates.filter((deployment) => {
      const samples = context.state.latencies(deployment.id, kind);
      return samples.length === 0 && context.state.latencies(deployment.id, "latency").length === 0;
    });
    if (unmeasured.length > 0) return pickRandom(unmeasured, context.random);
    const averages = candidates.map((deployment) => {
      let samples = context.state.latencies(deployment.id, kind);
      if (samples.length === 0) samples = context.state.latencies(deployment.id, "latency");
      let sum = 0;
      for (const sample of samples) sum += sample;
      return sum / samples.length;
    });
    const fastest = Math.min(...averages);
    const near = candidates.filter((_, index) => averages[index]! <= fastest * (1 + buffer));
    return pickRandom(near, context.random);
  };
}

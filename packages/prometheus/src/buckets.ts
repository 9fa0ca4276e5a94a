/**
 * Histogram bucket boundaries.
 *
 * The first three are the advisory `ExplicitBucketBoundaries` of the OpenTelemetry GenAI semantic
 * conventions (docs/gen-ai/gen-ai-metrics.md), so llmux histograms line up with any OTel GenAI
 * instrumentation the host already runs.
 */

/** `gen_ai.client.operation.duration` (seconds): 10 ms doubling up to 81.92 s. */
export const OPERATION_DURATION_BUCKETS: readonly number[] = [
  0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92,
];

/** `gen_ai.server.time_to_first_token` (seconds): 1 ms up to 10 s. */
export const TIME_TO_FIRST_TOKEN_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

/** `gen_ai.client.token.usage` (tokens): powers of four from 1 to 67 108 864. */
export const TOKEN_USAGE_BUCKETS: readonly number[] = [
  1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864,
];

/**
 * Gateway overhead (seconds). No OTel convention exists for it; what llmux adds to a call is
 * expected to be well under 10 ms, so the buckets are finer at the low end: 0.5 ms up to 2.5 s.
 */
export const OVERHEAD_DURATION_BUCKETS: readonly number[] = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

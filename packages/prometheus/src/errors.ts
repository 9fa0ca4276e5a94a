/** Errors of @llmux/prometheus, recognisable without `instanceof` through `kind`. */
export type PrometheusErrorKind = "llmux.prometheus.invalid_option" | "llmux.prometheus.metric_conflict";

export interface PrometheusError extends Error {
  readonly kind: PrometheusErrorKind;
}

export function prometheusError(
  kind: PrometheusErrorKind,
  message: string,
  cause?: unknown,
): PrometheusError {
  const error = new Error(message, cause === undefined ? undefined : { cause }) as Error & {
    kind: PrometheusErrorKind;
  };
  error.name = "PrometheusError";
  error.kind = kind;
  return error;
}

/** true for any error thrown by @llmux/prometheus. */
export function isPrometheusError(value: unknown): value is PrometheusError {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { kind?: unknown }).kind === "string" &&
    (value as { kind: string }).kind.startsWith("llmux.prometheus.")
  );
}

/**
 * Errors of @llmux/mlflow, recognisable without `instanceof` through a `Symbol.for` brand and a
 * `kind` string. Messages never carry credentials or Authorization headers.
 */
const BRAND = Symbol.for("llmux.mlflow.error");

export type MlflowErrorKind =
  /** Missing or invalid configuration (tracking URI, ARN, credentials). */
  | "config"
  /** The server answered with a non-2xx status. */
  | "http"
  /** The request did not complete (connection refused, reset, DNS, timeout). */
  | "network"
  /** The server answered something this package cannot read. */
  | "protocol"
  /** The experiment exists but is deleted. */
  | "experiment_deleted"
  /** The server lacks an API this package needs (e.g. MLflow < 3.0 for the REST trace API). */
  | "unsupported";

export interface MlflowError extends Error {
  readonly kind: MlflowErrorKind;
  /** HTTP status for kind "http". */
  readonly status?: number;
  /** MLflow's `error_code` (e.g. RESOURCE_DOES_NOT_EXIST) when the server sent one. */
  readonly errorCode?: string;
  readonly [BRAND]: true;
}

export function createMlflowError(
  kind: MlflowErrorKind,
  message: string,
  details: { status?: number; errorCode?: string; cause?: unknown } = {},
): MlflowError {
  const error = new Error(
    message,
    details.cause === undefined ? undefined : { cause: details.cause },
  ) as Error & {
    kind: MlflowErrorKind;
    status?: number;
    errorCode?: string;
    [BRAND]: true;
  };
  error.name = "MlflowError";
  error.kind = kind;
  if (details.status !== undefined) error.status = details.status;
  if (details.errorCode !== undefined) error.errorCode = details.errorCode;
  Object.defineProperty(error, BRAND, { value: true, enumerable: false });
  return error;
}

/** true for errors made by this package (works across copies of the package). */
export function isMlflowError(value: unknown): value is MlflowError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Public types of @llmux/mlflow: the experiment resolver, the span exporter (OTLP to MLflow ≥ 3.6,
 * REST trace API for MLflow 3.0–3.5), SageMaker managed MLflow (ARN tracking URIs, SigV4) and the
 * optional per-call run logger.
 */
import type { BatchingSinkStats, Logger } from "./contracts";

/** The subset of `fetch` this package uses (pass undici's fetch, a test double, ...). */
export type FetchLike = (input: string, init: FetchInit) => Promise<FetchResponseLike>;

export interface FetchInit {
  method: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
  signal?: AbortSignal;
}

export interface FetchResponseLike {
  readonly status: number;
  text(): Promise<string>;
}

/** AWS credentials used to sign SageMaker (service "sagemaker-mlflow") and S3 requests. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When the credentials stop working (refreshed through the provider shortly before). */
  expiration?: Date;
}

/** Returns current credentials; called before each signed request (cache inside if it is costly). */
export type AwsCredentialsProvider = () => Promise<AwsCredentials>;

/**
 * How requests to the tracking server authenticate. Read from the environment by default:
 * `MLFLOW_TRACKING_TOKEN` (Bearer) wins over `MLFLOW_TRACKING_USERNAME`/`MLFLOW_TRACKING_PASSWORD` (Basic).
 * SageMaker ARN tracking URIs are always signed with SigV4 as well.
 */
export type MlflowAuth =
  | { type: "none" }
  | { type: "bearer"; token: string }
  | { type: "basic"; username: string; password: string };

export interface AwsOptions {
  /**
   * Credentials or a provider of them. Default: the environment (`AWS_ACCESS_KEY_ID`,
   * `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`), read on every request so rotated values are seen;
   * without them the AWS SDK's default chain (shared files and AWS_PROFILE, SSO, web identity, ECS
   * container credentials, EC2 instance metadata), cached and refreshed before expiry.
   */
  credentials?: AwsCredentials | AwsCredentialsProvider;
  /** A profile of the shared config/credentials files instead of the default chain. */
  profile?: string;
  /** A role to assume through STS on top of the chain's credentials (also the tracking URI's `#role` suffix). */
  roleArn?: string;
  /** Session name of the assumed role. Default `llmux-mlflow-<time>`. */
  roleSessionName?: string;
  /** STS endpoint. Default AWS_ENDPOINT_URL_STS, else the regional STS endpoint. */
  stsEndpoint?: string;
  /** Region for S3 uploads when the tracking URI is not an ARN. Default AWS_REGION / AWS_DEFAULT_REGION. */
  region?: string;
  /**
   * S3 endpoint (path-style) instead of `https://{bucket}.s3.{region}.amazonaws.com`.
   * Default AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL (the AWS SDKs' own variables).
   */
  s3Endpoint?: string;
}

/** Where and how to reach the tracking server. */
export interface MlflowConnectionOptions {
  /**
   * `http(s)://host[:port][/prefix]`, or a SageMaker managed MLflow ARN
   * (`arn:aws:sagemaker:REGION:ACCOUNT:mlflow-tracking-server/NAME`, optionally `#arn:aws:iam::…:role/…`
   * which is refused: assume-role needs a credentials provider). Default MLFLOW_TRACKING_URI.
   */
  trackingUri?: string;
  /** Default: from `env` (MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME + MLFLOW_TRACKING_PASSWORD). */
  auth?: MlflowAuth;
  aws?: AwsOptions;
  /** Environment to read defaults from. Default `process.env`. */
  env?: Record<string, string | undefined>;
  /** HTTP client. Default the global `fetch`. */
  fetchImpl?: FetchLike;
  /** Timeout of each HTTP request. Default 10 000 ms. */
  requestTimeoutMs?: number;
}

export interface ResolveExperimentOptions extends MlflowConnectionOptions {
  /** Experiment to look up, and to create when it does not exist. */
  experimentName: string;
}

export interface RetryOptions {
  /** First backoff delay. Default 500 ms. */
  initialDelayMs?: number;
  /** Backoff cap. Default 30 000 ms. */
  maxDelayMs?: number;
  /** Sends of one batch before it is dropped (counted). Default 5. Experiment resolution retries forever (with backoff). */
  maxAttempts?: number;
}

/**
 * "auto": OTLP to `/v1/traces`; a server answering 404/405/501 there (MLflow < 3.6; and 403 on
 * SageMaker, which does not document the OTLP route) switches the exporter to the REST trace API.
 * "otlp": OTLP only. "rest": REST trace API only (MLflow ≥ 3.0).
 */
export type MlflowExportMode = "auto" | "otlp" | "rest";

export interface MlflowExporterOptions extends MlflowConnectionOptions {
  /** Experiment the traces go to. Default MLFLOW_EXPERIMENT_NAME, else "llmux". */
  experimentName?: string;
  /** Skip the name lookup and use this experiment id. Default MLFLOW_EXPERIMENT_ID. */
  experimentId?: string;
  /** Default "auto" (see MlflowExportMode). */
  mode?: MlflowExportMode;
  /** Spans held at most while the server is slow, down or the experiment is unresolved; more are dropped and counted. Default 2 048. */
  maxBufferedSpans?: number;
  /** Spans per OTLP request. Default 512. */
  maxExportBatchSize?: number;
  retry?: RetryOptions;
  /** How long `forceFlush()`/`shutdown()` wait for the buffer to drain. Default 10 000 ms. */
  flushTimeoutMs?: number;
  /**
   * OTLP mode: send a span whose parent MLflow will not receive (a remote parent, or the host's
   * HTTP span recorded outside llmux's provider) as a trace root, so MLflow completes the trace
   * (state, previews, duration). The original parent id stays in `llmux.parent_span_id`. Default true.
   */
  promoteCallSpansToRoots?: boolean;
  /**
   * REST mode only: how long spans of a trace wait for their local root span (the llmux call span)
   * before the trace is written without it. Default 10 000 ms (above the default 5 s delay of a BatchSpanProcessor).
   */
  traceAssemblyTimeoutMs?: number;
  /**
   * REST mode only: tells the root span of a trace (the llmux call span). Default: a span without a
   * parent, with a remote parent, or with children already buffered; see docs/observability/mlflow.md.
   */
  isRootSpan?: (span: import("@opentelemetry/sdk-trace-base").ReadableSpan) => boolean;
  /** Where failures are reported (rate-limited, without secrets). Default a stderr logger. */
  logger?: Logger;
  /** At most one log line per kind of failure per this many ms. Default 30 000. */
  errorLogIntervalMs?: number;
}

export interface MlflowExporterStats {
  /** "otlp" or "rest" once decided; "auto" before the first export. */
  mode: MlflowExportMode;
  experimentId: string | undefined;
  /** Spans accepted by the server. */
  exportedSpans: number;
  /** Spans dropped: buffer full, retries exhausted, rejected by the server, or left at shutdown. */
  droppedSpans: number;
  /** Spans waiting in the exporter's buffer. */
  bufferedSpans: number;
  /** REST mode: traces written (trace info + span data). */
  exportedTraces: number;
  /** REST mode: spans of groups without any GenAI/MLflow attribute (e.g. only host HTTP spans), not written. */
  skippedSpans: number;
  /** Failed HTTP attempts (each retry counts). */
  failedRequests: number;
}

/** One call's numbers and tags in a run (see `mlflowRunLogger`). */
export type MlflowRunGrouping = "call" | "batch";

export interface MlflowRunLoggerOptions extends MlflowConnectionOptions {
  /** Default MLFLOW_EXPERIMENT_NAME, else "llmux". */
  experimentName?: string;
  /** Skip the lookup. Default MLFLOW_EXPERIMENT_ID. */
  experimentId?: string;
  /**
   * "call" (default, as the LiteLLM MLflow callback does): one run per call, its metrics and tags
   * searchable in the runs table. "batch": one run per flushed batch, each call a step of the
   * metrics; per-call tags are not kept (tags are per run).
   */
  runPer?: MlflowRunGrouping;
  /** Sink name. Default "mlflow". */
  name?: string;
  /** Calls per flush (in "batch" mode: per run). Default 50. */
  maxBatchSize?: number;
  /** Buffered calls are written at least this often. Default 5 000 ms. */
  flushIntervalMs?: number;
  /** Calls held at most; more are dropped and counted. Default 10 000. */
  maxBufferSize?: number;
  /** Runs written at once in "call" mode. Default 4. */
  concurrency?: number;
  /** Which outcomes are logged. Default "all". */
  only?: "all" | "success" | "failure";
  /** Retries of a failed flush (network, 429, 5xx) before its calls are dropped. Default 3. */
  maxRetries?: number;
  /** First retry backoff, doubling up to 30 s. Default 500 ms. */
  retryBackoffMs?: number;
  logger?: Logger;
  errorLogIntervalMs?: number;
}

export interface MlflowRunLoggerStats extends BatchingSinkStats {
  /** Runs created. */
  runs: number;
  /** runs/log-batch requests sent. */
  logBatchRequests: number;
}

/**
 * One place that sends requests to the tracking server (and to S3 for REST-mode trace data):
 * adds the auth headers (Bearer, Basic, or SigV4 + the SageMaker ARN header), applies the request
 * timeout and turns failures into MlflowErrors that never carry credentials.
 */
import { createCredentialsProvider } from "./aws-credentials";
import { createMlflowError } from "./errors";
import { createRequestSigner, type RequestSigner } from "./sigv4";
import {
  resolveTrackingTarget,
  SAGEMAKER_ARN_HEADER,
  SAGEMAKER_SIGNING_SERVICE,
  type TrackingTarget,
} from "./tracking-uri";
import type { FetchLike, MlflowAuth, MlflowConnectionOptions } from "./types";

export interface HttpResult {
  status: number;
  text: string;
}

export interface SendOptions {
  query?: Record<string, string>;
  /** Serialised as JSON with content-type application/json. */
  json?: unknown;
  body?: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface MlflowHttpClient {
  readonly target: TrackingTarget;
  /** Sends to `baseUrl + path`. Resolves with any HTTP status; rejects (kind "network") when no answer came. */
  send(method: string, path: string, options?: SendOptions): Promise<HttpResult>;
  /** Sends to an absolute URL with the tracking server's auth (http artifact repositories). */
  sendAbsolute(method: string, url: string, options?: SendOptions): Promise<HttpResult>;
  /** Sends JSON and parses the JSON answer; a non-2xx status rejects with kind "http" and MLflow's error_code. */
  callJson<T>(method: "GET" | "POST", path: string, options?: SendOptions): Promise<T>;
  /** PUT to S3 signed for service "s3" (REST-mode trace data on SageMaker / S3 artifact stores). */
  putS3Object(bucket: string, key: string, body: string, contentType: string): Promise<HttpResult>;
}

const DEFAULT_TIMEOUT_MS = 10_000;

export function readAuthFromEnv(env: Record<string, string | undefined>): MlflowAuth {
  const token = env.MLFLOW_TRACKING_TOKEN?.trim();
  if (token) return { type: "bearer", token };
  const username = env.MLFLOW_TRACKING_USERNAME;
  const password = env.MLFLOW_TRACKING_PASSWORD;
  if (username && password !== undefined) return { type: "basic", username, password };
  return { type: "none" };
}

export function defaultFetch(): FetchLike {
  if (typeof globalThis.fetch !== "function") {
    throw createMlflowError("config", "no global fetch: pass fetchImpl");
  }
  return (input, init) => globalThis.fetch(input, init as RequestInit);
}

export function createHttpClient(options: MlflowConnectionOptions): MlflowHttpClient {
  const env = options.env ?? process.env;
  const trackingUri = options.trackingUri ?? env.MLFLOW_TRACKING_URI;
  if (!trackingUri?.trim()) {
    throw createMlflowError(
      "config",
      "MLFLOW_TRACKING_URI is not set: give the MLflow tracking server URL (e.g. http://localhost:5000) or a SageMaker MLflow tracking server ARN",
    );
  }
  const target = resolveTrackingTarget(trackingUri, env);
  const fetchImpl = options.fetchImpl ?? defaultFetch();
  const timeoutMs = options.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  const auth = options.auth ?? readAuthFromEnv(env);
  const credentials = createCredentialsProvider(options.aws, env, target.sagemaker?.assumeRoleArn);

  let sagemakerSigner: RequestSigner | undefined;
  if (target.sagemaker) {
    sagemakerSigner = createRequestSigner({
      service: SAGEMAKER_SIGNING_SERVICE,
      region: target.sagemaker.region,
      credentials,
    });
  }
  const s3Region =
    options.aws?.region ?? target.sagemaker?.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const s3Endpoint = options.aws?.s3Endpoint ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  let s3Signer: RequestSigner | undefined;

  async function rawSend(
    method: string,
    url: string,
    headers: Record<string, string>,
    body: string | Uint8Array | undefined,
  ): Promise<HttpResult> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    timer.unref?.();
    try {
      const init =
        body === undefined
          ? { method, headers, signal: controller.signal }
          : { method, headers, body, signal: controller.signal };
      const response = await fetchImpl(url, init);
      const text = await response.text();
      return { status: response.status, text };
    } catch (error) {
      const reason = controller.signal.aborted
        ? `timed out after ${timeoutMs} ms`
        : describeNetworkError(error);
      throw createMlflowError("network", `${method} ${redactUrl(url)} failed: ${reason}`);
    } finally {
      clearTimeout(timer);
    }
  }

  async function sendAbsolute(method: string, url: string, options: SendOptions = {}): Promise<HttpResult> {
    const parsedUrl = new URL(url);
    // encodeURIComponent writes spaces as %20, which SigV4 (and MLflow) expect, not "+"
    const pairs = Object.entries(options.query ?? {}).map(
      ([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`,
    );
    if (pairs.length > 0) parsedUrl.search = [parsedUrl.search.slice(1), ...pairs].filter(Boolean).join("&");
    const finalUrl = parsedUrl.toString();
    let body = options.body;
    const headers: Record<string, string> = { ...options.headers };
    if (options.json !== undefined) {
      body = JSON.stringify(options.json);
      headers["content-type"] = "application/json";
    } else if (options.contentType !== undefined) {
      headers["content-type"] = options.contentType;
    }
    if (sagemakerSigner && target.sagemaker) {
      headers[SAGEMAKER_ARN_HEADER] = target.sagemaker.arn;
      const signed = await sagemakerSigner.sign({ method, url: finalUrl, headers, body });
      return rawSend(method, finalUrl, signed, body);
    }
    if (auth.type === "bearer") headers.authorization = `Bearer ${auth.token}`;
    else if (auth.type === "basic") {
      headers.authorization = `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString("base64")}`;
    }
    return rawSend(method, finalUrl, headers, body);
  }

  return {
    target,
    sendAbsolute,
    send(method, path, options) {
      return sendAbsolute(method, `${target.baseUrl}${path}`, options);
    },
    async callJson<T>(method: "GET" | "POST", path: string, options: SendOptions = {}): Promise<T> {
      const result = await sendAbsolute(method, `${target.baseUrl}${path}`, options);
      const parsed = parseJson(result.text);
      if (result.status < 200 || result.status >= 300) {
        throw httpError(method, path, result.status, parsed, result.text);
      }
      if (parsed === undefined) {
        throw createMlflowError(
          "protocol",
          `${method} ${path} answered ${result.status} with a body that is not JSON`,
        );
      }
      return parsed as T;
    },
    async putS3Object(bucket, key, body, contentType) {
      if (!s3Region && !s3Endpoint) {
        throw createMlflowError(
          "config",
          "writing trace data to S3 needs a region: set AWS_REGION (or aws.region) or use a SageMaker ARN tracking URI",
        );
      }
      s3Signer ??= createRequestSigner({ service: "s3", region: s3Region ?? "us-east-1", credentials });
      const encodedKey = key.split("/").map(encodeURIComponent).join("/");
      const url = s3Endpoint
        ? `${s3Endpoint.replace(/\/+$/, "")}/${encodeURIComponent(bucket)}/${encodedKey}`
        : `https://${bucket}.s3.${s3Region}.amazonaws.com/${encodedKey}`;
      const headers = await s3Signer.sign({
        method: "PUT",
        url,
        headers: { "content-type": contentType },
        body,
      });
      return rawSend("PUT", url, headers, body);
    },
  };
}

export function httpError(method: string, path: string, status: number, parsed: unknown, text: string) {
  const record = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>) : {};
  const errorCode = typeof record.error_code === "string" ? record.error_code : undefined;
  const serverMessage = typeof record.message === "string" ? record.message : text;
  const message = `MLflow ${method} ${path} answered ${status}${errorCode ? ` ${errorCode}` : ""}${
    serverMessage ? `: ${truncate(serverMessage.trim(), 300)}` : ""
  }`;
  return createMlflowError("http", message, errorCode === undefined ? { status } : { status, errorCode });
}

export function parseJson(text: string): unknown {
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function truncate(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max)}…` : value;
}

/** Drops the query string (it may hold values the user did not mean for logs). */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.origin}${parsed.pathname}`;
  } catch {
    return "(invalid url)";
  }
}

function describeNetworkError(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (cause && typeof cause.code === "string") return cause.code;
  if (error instanceof Error) return error.message;
  return "unknown error";
}

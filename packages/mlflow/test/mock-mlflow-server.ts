/**
 * A mock MLflow tracking server (node:http on 127.0.0.1, port 0) for the tests: experiments
 * get-by-name/create, runs create/log-batch/update (enforcing MLflow's log-batch limits),
 * the OTLP endpoint /v1/traces (or a 404 like MLflow < 3.6), StartTraceV3, the artifact proxy,
 * and an S3-style PUT /{bucket}/{key}. Every request is recorded; optional SigV4 verification
 * re-signs each request with @smithy/signature-v4 and refuses a mismatch with 403.
 *
 * Traces are kept the way MLflow 3.11's tracking store keeps them, for the fields llmux relies on:
 * - /v1/traces (log_spans): each span's attribute values are stored JSON-encoded as MLflow's span
 *   model holds them (a value that is already JSON text is kept, any other is JSON-dumped, mlflow
 *   issue 18767), and `session.id` / `user.id` are copied verbatim from the stored attributes into
 *   the metadata `mlflow.trace.session` / `mlflow.trace.user` (so a plain "alice" is stored as
 *   '"alice"', mlflow issue 22119 and PR 23642, which unwrapped it later). No tag, no
 *   client_request_id and no trace name come from spans.
 * - StartTraceV3 on a trace log_spans created merges into it (the store's IntegrityError →
 *   session.merge path): given metadata keys and tags replace the stored ones, others stay.
 * - `searchTraces(filter)` evaluates MLflow's equality filters on what is stored:
 *   metadata.`key` = 'v', tags.`key` = 'v', trace.client_request_id = 'v', trace.name = 'v'
 *   (AND-joined).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { decodeProtobufTraces, type OtlpValue } from "@llmux/testing";
import { SignatureV4 } from "@smithy/signature-v4";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body: Buffer;
  /** Parsed JSON body, when it was JSON. */
  json?: unknown;
  /** Result of the SigV4 check, when verification is on. */
  signature?: { valid: boolean; service: string; reason?: string };
}

export interface SigV4Verification {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

export interface MockMlflowOptions {
  /** Experiments that already exist, name → id. */
  experiments?: Record<string, string>;
  /** Deleted experiments (name → id). */
  deletedExperiments?: Record<string, string>;
  /** Serve /v1/traces (MLflow ≥ 3.6). Default true. */
  otlp?: boolean;
  /** Serve /api/3.0/mlflow/traces (MLflow ≥ 3.0). Default true. */
  traceApi?: boolean;
  /** Artifact location StartTraceV3 answers with. Default mlflow-artifacts:/{experiment}/traces/{trace}/artifacts. */
  artifactLocation?: (experimentId: string, traceId: string) => string;
  /** Bucket served by the S3-style route. */
  s3Bucket?: string;
  /** Answer before the normal routes (fault injection); return undefined to continue. */
  intercept?: (
    request: RecordedRequest,
  ) => { status: number; body?: string; contentType?: string } | undefined;
  /** Verify SigV4 on every request (service "s3" for the bucket route, "sagemaker-mlflow" otherwise). */
  sigv4?: SigV4Verification;
}

export interface MockMlflowServer {
  url: string;
  port: number;
  requests: RecordedRequest[];
  experiments: Map<string, { id: string; deleted: boolean }>;
  runs: Map<
    string,
    {
      experimentId: string;
      runName?: string;
      status: string;
      tags: Record<string, string>;
      metrics: Array<{ key: string; value: number; step: number; timestamp: number }>;
      endTime?: number;
    }
  >;
  traces: Map<string, { info: Record<string, unknown> }>;
  /** Uploaded files by path (artifact proxy path or s3 key). */
  artifacts: Map<string, string>;
  requestsTo(path: string): RecordedRequest[];
  /** Ids of the stored traces that match an MLflow search filter (see the header for the subset). */
  searchTraces(filter: string): string[];
  close(): Promise<void>;
}

/** How MLflow's span model stores an OTLP attribute value (JSON text kept, anything else dumped). */
function storedAttribute(value: OtlpValue): string {
  if (typeof value === "string") {
    try {
      JSON.parse(value);
      return value;
    } catch {
      return JSON.stringify(value);
    }
  }
  return JSON.stringify(value);
}

type StoredTrace = { info: Record<string, unknown> };

/** log_spans for one span: creates the trace and copies session/user verbatim into its metadata. */
function logSpan(
  traces: Map<string, StoredTrace>,
  traceIdHex: string,
  attributes: Record<string, OtlpValue>,
): void {
  const traceId = `tr-${traceIdHex}`;
  let trace = traces.get(traceId);
  if (!trace) {
    trace = { info: { trace_id: traceId, trace_metadata: {}, tags: {} } };
    traces.set(traceId, trace);
  }
  const metadata = trace.info.trace_metadata as Record<string, string>;
  const session = attributes["session.id"] ?? attributes["gen_ai.conversation.id"];
  if (session !== undefined && session !== null) metadata["mlflow.trace.session"] = storedAttribute(session);
  const user = attributes["user.id"];
  if (user !== undefined && user !== null) metadata["mlflow.trace.user"] = storedAttribute(user);
}

function matches(info: Record<string, unknown>, clause: string): boolean {
  const match = /^\s*(metadata|tags|trace)\.(?:`([^`]+)`|([\w.]+))\s*=\s*'([^']*)'\s*$/.exec(clause);
  if (!match) throw new Error(`unsupported filter clause: ${clause}`);
  const [, scope, quoted, bare, value] = match;
  const key = (quoted ?? bare) as string;
  if (scope === "metadata")
    return (info.trace_metadata as Record<string, string> | undefined)?.[key] === value;
  if (scope === "tags") return (info.tags as Record<string, string> | undefined)?.[key] === value;
  if (key === "client_request_id") return info.client_request_id === value;
  if (key === "name")
    return (info.tags as Record<string, string> | undefined)?.["mlflow.traceName"] === value;
  throw new Error(`unsupported trace field: ${key}`);
}

export const LOG_BATCH_LIMITS = { metrics: 1000, params: 100, tags: 100, total: 1000 };

export async function startMockMlflow(options: MockMlflowOptions = {}): Promise<MockMlflowServer> {
  const requests: RecordedRequest[] = [];
  const experiments = new Map<string, { id: string; deleted: boolean }>();
  for (const [name, id] of Object.entries(options.experiments ?? {}))
    experiments.set(name, { id, deleted: false });
  for (const [name, id] of Object.entries(options.deletedExperiments ?? {}))
    experiments.set(name, { id, deleted: true });
  let nextExperimentId = 100;
  let nextRunId = 1;
  const runs: MockMlflowServer["runs"] = new Map();
  const traces: MockMlflowServer["traces"] = new Map();
  const artifacts = new Map<string, string>();

  const json = (response: ServerResponse, status: number, body: unknown) => {
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify(body));
  };
  const mlflowError = (response: ServerResponse, status: number, code: string, message: string) =>
    json(response, status, { error_code: code, message });

  const handle = async (incoming: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const chunk of incoming) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const rawUrl = incoming.url ?? "/";
    const url = new URL(rawUrl, "http://127.0.0.1");
    const headers: Record<string, string> = {};
    for (const [key, value] of Object.entries(incoming.headers)) {
      if (typeof value === "string") headers[key] = value;
      else if (Array.isArray(value)) headers[key] = value.join(", ");
    }
    const recorded: RecordedRequest = {
      method: incoming.method ?? "GET",
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      headers,
      body,
    };
    if ((headers["content-type"] ?? "").includes("json") && body.length > 0) {
      try {
        recorded.json = JSON.parse(body.toString("utf8"));
      } catch {
        // left undefined
      }
    }
    const isS3 = options.s3Bucket !== undefined && url.pathname.startsWith(`/${options.s3Bucket}/`);
    if (options.sigv4) {
      recorded.signature = await verifySigV4(
        recorded,
        rawUrl,
        options.sigv4,
        isS3 ? "s3" : "sagemaker-mlflow",
      );
    }
    requests.push(recorded);
    if (recorded.signature && !recorded.signature.valid) {
      mlflowError(response, 403, "PERMISSION_DENIED", `signature mismatch: ${recorded.signature.reason}`);
      return;
    }
    const intercepted = options.intercept?.(recorded);
    if (intercepted) {
      response.writeHead(intercepted.status, {
        "content-type": intercepted.contentType ?? "application/json",
      });
      response.end(intercepted.body ?? "");
      return;
    }
    const request = recorded.json as Record<string, unknown> | undefined;
    const route = `${recorded.method} ${url.pathname}`;

    if (isS3 && recorded.method === "PUT") {
      artifacts.set(url.pathname.slice(options.s3Bucket!.length + 2), body.toString("utf8"));
      response.writeHead(200, { etag: '"x"' });
      response.end();
      return;
    }
    if (route === "GET /api/2.0/mlflow/experiments/get-by-name") {
      const name = url.searchParams.get("experiment_name") ?? "";
      const experiment = experiments.get(name);
      if (!experiment) {
        mlflowError(
          response,
          404,
          "RESOURCE_DOES_NOT_EXIST",
          `Could not find experiment with name '${name}'`,
        );
        return;
      }
      json(response, 200, {
        experiment: {
          experiment_id: experiment.id,
          name,
          artifact_location: `mlflow-artifacts:/${experiment.id}`,
          lifecycle_stage: experiment.deleted ? "deleted" : "active",
        },
      });
      return;
    }
    if (route === "POST /api/2.0/mlflow/experiments/create") {
      const name = String(request?.name ?? "");
      if (experiments.has(name)) {
        mlflowError(response, 400, "RESOURCE_ALREADY_EXISTS", `Experiment '${name}' already exists.`);
        return;
      }
      const id = String(nextExperimentId++);
      experiments.set(name, { id, deleted: false });
      json(response, 200, { experiment_id: id });
      return;
    }
    if (route === "POST /api/2.0/mlflow/runs/create") {
      const runId = `run${nextRunId++}`;
      const tags: Record<string, string> = {};
      for (const tag of (request?.tags as Array<{ key: string; value: string }> | undefined) ?? [])
        tags[tag.key] = tag.value;
      const runName = typeof request?.run_name === "string" ? request.run_name : undefined;
      runs.set(runId, {
        experimentId: String(request?.experiment_id),
        status: "RUNNING",
        tags,
        metrics: [],
        ...(runName ? { runName } : {}),
      });
      json(response, 200, {
        run: {
          info: { run_id: runId, run_uuid: runId, experiment_id: request?.experiment_id, status: "RUNNING" },
          data: {},
        },
      });
      return;
    }
    if (route === "POST /api/2.0/mlflow/runs/log-batch") {
      const run = runs.get(String(request?.run_id));
      if (!run) {
        mlflowError(response, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
        return;
      }
      const metrics =
        (request?.metrics as Array<{ key: string; value: number; step: number; timestamp: number }>) ?? [];
      const params = (request?.params as unknown[]) ?? [];
      const tags = (request?.tags as Array<{ key: string; value: string }>) ?? [];
      const over =
        metrics.length > LOG_BATCH_LIMITS.metrics
          ? `A batch logging request can contain at most 1000 metrics. Got ${metrics.length} metrics.`
          : params.length > LOG_BATCH_LIMITS.params
            ? `A batch logging request can contain at most 100 params. Got ${params.length} params.`
            : tags.length > LOG_BATCH_LIMITS.tags
              ? `A batch logging request can contain at most 100 tags. Got ${tags.length} tags.`
              : metrics.length + params.length + tags.length > LOG_BATCH_LIMITS.total
                ? "A batch logging request can contain at most 1000 metrics, params and tags in total."
                : undefined;
      if (over) {
        mlflowError(response, 400, "INVALID_PARAMETER_VALUE", over);
        return;
      }
      run.metrics.push(...metrics);
      for (const tag of tags) run.tags[tag.key] = tag.value;
      json(response, 200, {});
      return;
    }
    if (route === "POST /api/2.0/mlflow/runs/update") {
      const run = runs.get(String(request?.run_id));
      if (!run) {
        mlflowError(response, 404, "RESOURCE_DOES_NOT_EXIST", "Run not found");
        return;
      }
      run.status = String(request?.status ?? run.status);
      if (typeof request?.end_time === "number") run.endTime = request.end_time;
      json(response, 200, { run_info: { run_id: request?.run_id, status: run.status } });
      return;
    }
    if (route === "POST /v1/traces") {
      if (options.otlp === false) {
        response.writeHead(404, { "content-type": "text/html" });
        response.end("<!doctype html><title>404 Not Found</title>");
        return;
      }
      if (!headers["x-mlflow-experiment-id"]) {
        mlflowError(
          response,
          400,
          "INVALID_PARAMETER_VALUE",
          "Missing required header: x-mlflow-experiment-id",
        );
        return;
      }
      for (const span of decodeProtobufTraces(body, "/v1/traces"))
        logSpan(traces, span.traceId, span.attributes);
      response.writeHead(200, { "content-type": "application/x-protobuf" });
      response.end();
      return;
    }
    if (route === "POST /api/3.0/mlflow/traces" && options.traceApi !== false) {
      const info = ((request?.trace as Record<string, unknown> | undefined)?.trace_info ?? {}) as Record<
        string,
        unknown
      >;
      const traceId = String(info.trace_id);
      const experimentId = String(
        (
          (info.trace_location as Record<string, unknown> | undefined)?.mlflow_experiment as
            | Record<string, unknown>
            | undefined
        )?.experiment_id,
      );
      const location =
        options.artifactLocation?.(experimentId, traceId) ??
        `mlflow-artifacts:/${experimentId}/traces/${traceId}/artifacts`;
      const existing = traces.get(traceId)?.info;
      const stored = {
        ...existing,
        ...info,
        trace_metadata: {
          ...(existing?.trace_metadata as Record<string, string> | undefined),
          ...(info.trace_metadata as Record<string, string> | undefined),
        },
        tags: {
          ...(existing?.tags as Record<string, string> | undefined),
          ...(info.tags as Record<string, string>),
          "mlflow.artifactLocation": location,
        },
      };
      traces.set(traceId, { info: stored });
      json(response, 200, { trace: { trace_info: stored } });
      return;
    }
    if (recorded.method === "PUT" && url.pathname.startsWith("/api/2.0/mlflow-artifacts/artifacts/")) {
      artifacts.set(url.pathname.slice("/api/2.0/mlflow-artifacts/artifacts/".length), body.toString("utf8"));
      json(response, 200, {});
      return;
    }
    response.writeHead(404, { "content-type": "text/html" });
    response.end("<!doctype html><title>404 Not Found</title>");
  };

  const server: Server = createServer((incoming, response) => {
    handle(incoming, response).catch((error: unknown) => {
      response.writeHead(500);
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    experiments,
    runs,
    traces,
    artifacts,
    requestsTo: (path) => requests.filter((request) => request.path === path),
    searchTraces: (filter) =>
      [...traces.values()]
        .filter((trace) => filter.split(/\s+AND\s+/i).every((clause) => matches(trace.info, clause)))
        .map((trace) => String(trace.info.trace_id)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Re-signs the request with the expected credentials and compares the Authorization header. */
async function verifySigV4(
  request: RecordedRequest,
  rawUrl: string,
  expected: SigV4Verification,
  service: string,
): Promise<{ valid: boolean; service: string; reason?: string }> {
  const authorization = request.headers.authorization ?? "";
  const match =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(
      authorization,
    );
  if (!match) return { valid: false, service, reason: "no SigV4 Authorization header" };
  const [, accessKeyId, , region, signedService, signedHeaderList] = match;
  if (accessKeyId !== expected.accessKeyId) return { valid: false, service, reason: "unknown access key" };
  if (region !== expected.region) return { valid: false, service, reason: `region ${region}` };
  if (signedService !== service) return { valid: false, service, reason: `service ${signedService}` };
  const amzDate = request.headers["x-amz-date"] ?? "";
  const dateMatch = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(amzDate);
  if (!dateMatch) return { valid: false, service, reason: "no x-amz-date" };
  const [, year, month, day, hour, minute, second] = dateMatch;
  const signingDate = new Date(Date.UTC(+year!, +month! - 1, +day!, +hour!, +minute!, +second!));
  const hash = new Sha256();
  hash.update(request.body);
  const actualBodyHash = Buffer.from(await hash.digest()).toString("hex");
  if (request.headers["x-amz-content-sha256"] !== actualBodyHash)
    return { valid: false, service, reason: "body hash" };
  const headers: Record<string, string> = {};
  for (const name of (signedHeaderList ?? "").split(";")) {
    const value = request.headers[name];
    if (value === undefined) return { valid: false, service, reason: `signed header ${name} missing` };
    if (name !== "x-amz-date" && name !== "x-amz-security-token") headers[name] = value;
  }
  const host = request.headers.host ?? "";
  const [hostname = "", port] = host.split(":");
  const path = rawUrl.split("?")[0] ?? "/";
  const query: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(
    rawUrl.includes("?") ? rawUrl.slice(rawUrl.indexOf("?") + 1) : "",
  ))
    query[key] = value;
  const signer = new SignatureV4({
    service,
    region: expected.region,
    credentials: {
      accessKeyId: expected.accessKeyId,
      secretAccessKey: expected.secretAccessKey,
      ...(expected.sessionToken ? { sessionToken: expected.sessionToken } : {}),
    },
    sha256: Sha256,
    uriEscapePath: service !== "s3",
  });
  const resigned = await signer.sign(
    {
      method: request.method,
      protocol: "http:",
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path,
      query,
      headers,
      body: request.body,
    },
    { signingDate },
  );
  const expectedAuthorization = (resigned.headers as Record<string, string>).authorization;
  if (expectedAuthorization !== authorization) return { valid: false, service, reason: "signature" };
  if (expected.sessionToken && request.headers["x-amz-security-token"] !== expected.sessionToken) {
    return { valid: false, service, reason: "session token" };
  }
  return { valid: true, service };
}

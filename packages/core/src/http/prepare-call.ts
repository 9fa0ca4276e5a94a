import type { IncomingMessage, ServerResponse } from "node:http";
import type { CallType } from "@llmux/callbacks";
import { LlmuxError } from "../errors/llmux-error";
import { buildCallContext } from "../gateway/call-context";
import type { CallInput } from "../gateway/call-run";
import { ClientAbort } from "../gateway/client-abort";
import type { Gateway } from "../gateway/create-gateway";
import { modelAllowed } from "../gateway/model-access";
import type { Access } from "./authenticate";
import { rememberCallId } from "./call-id-header";
import { readJsonBody } from "./read-body";

export interface PrepareCallOptions {
  callType: CallType;
  request: IncomingMessage;
  response: ServerResponse;
  parsedBody: unknown;
  /** What the route table's authentication resolved (it ran before anything read the body). */
  access: Access;
  startTime: number;
  /** Checks the body's shape (throws a 400 LlmuxError). */
  validate(body: Record<string, unknown>): void;
  /** Answers without a call once the model is known to exist; true when it did. */
  answerEarly?(body: Record<string, unknown>, signal: AbortSignal): boolean | Promise<boolean>;
  /** false: the beforeCall hooks (budgets, limits, guardrails) do not run, nor the afterCall ones (count_tokens). */
  hooks?: boolean;
}

/**
 * Everything between an HTTP request and a gateway call, shared by every model route: the call id
 * header, the client-disconnect signal (so a client that leaves during auth, body reading or hooks
 * never reaches the upstream), the access the route table resolved, the body (size limit), validation, model access, the call
 * context and the beforeCall hooks. Resolves to undefined when the request was answered or abandoned.
 */
export async function prepareCall(
  gateway: Gateway,
  options: PrepareCallOptions,
): Promise<HttpCallInput | undefined> {
  const { request, response, callType } = options;
  const callId = gateway.newCallId();
  rememberCallId(response, callId);
  const clientAbort = new ClientAbort();
  response.on("close", () => {
    if (!response.writableFinished) clientAbort.abort();
  });
  // A client that left during authentication (before the listener above existed).
  if (response.destroyed || request.socket?.destroyed) clientAbort.abort();
  if (!gateway.isReady()) await gateway.ready;
  const access = options.access;
  let body = await readJsonBody(request, gateway.config.maxRequestBytes, options.parsedBody);
  options.validate(body);
  const model = body.model as string;
  if (!modelAllowed(access.allowedModels, model)) {
    // LiteLLM's answer: 401 key_model_access_denied, naming the key's models.
    throw new LlmuxError({
      kind: "authentication",
      errorType: "key_model_access_denied",
      message: `API Key not allowed to access model. This key can only access models=${JSON.stringify(access.allowedModels)}. Tried to access ${model}`,
      param: "model",
      code: "401",
    });
  }
  if (!gateway.router.resolveGroup(model)) {
    throw new LlmuxError({
      kind: "not_found",
      message: `Model '${model}' is not configured on this gateway`,
      param: "model",
      code: "model_not_found",
    });
  }
  if (options.answerEarly && (await options.answerEarly(body, clientAbort.signal))) return undefined;
  const resolveContext = gateway.options.resolveContext;
  const fromHost = resolveContext ? await resolveContext(request) : undefined;
  const fromAccess = access.context;
  const context = buildCallContext(
    body,
    request.headers,
    // merged only when both say something (the host's resolveContext wins, tags from both)
    fromAccess && fromHost
      ? { ...fromAccess, ...fromHost, tags: [...(fromAccess.tags ?? []), ...(fromHost.tags ?? [])] }
      : (fromHost ?? fromAccess),
  );
  let hookState: Record<string, unknown> | undefined;
  if (options.hooks !== false) {
    hookState = {};
    const replaced = gateway.beforeCall({
      callId,
      callType,
      modelGroup: model,
      body,
      context,
      request,
      access: access.pluginAccess,
      state: hookState,
    });
    // no promise (nor microtask) when every hook answered synchronously
    body = replaced instanceof Promise ? await replaced : replaced;
  }
  if (clientAbort.aborted || response.destroyed) return undefined;
  const input = new HttpCallInput(
    callId,
    callType,
    body,
    context,
    callType !== "embeddings" && body.stream === true,
    clientAbort,
    carrierOf(request),
    request,
    body.no_log === true || request.headers["x-llmux-no-log"] === "true",
    options.startTime,
    access.pluginAccess,
  );
  if (hookState) input.hookState = hookState;
  else input.hooksSkipped = true;
  const timeout = timeoutOverride(request, body);
  if (timeout !== undefined) input.timeoutMs = timeout;
  return input;
}

/**
 * A call from an HTTP route. `signal` is the client's disconnect as an AbortSignal, made only if
 * something asks (see ClientAbort), by a getter on the class: a getter in an object literal would keep
 * each call's graph alive through young-generation collections (see gateway/lazy-members.ts).
 */
export class HttpCallInput implements CallInput {
  hookState?: Record<string, unknown>;
  hooksSkipped?: boolean;
  timeoutMs?: number;

  constructor(
    public callId: string,
    public callType: CallType,
    public body: Record<string, unknown>,
    public context: CallInput["context"],
    public stream: boolean,
    public clientAbort: ClientAbort,
    public carrier: CallInput["carrier"],
    public request: IncomingMessage,
    public noLog: boolean,
    public startTime: number,
    public pluginAccess: CallInput["pluginAccess"],
  ) {}

  get signal(): AbortSignal {
    return this.clientAbort.signal;
  }

  /**
   * The same call under another id and body (the legacy completions route makes one chat call per
   * prompt): another input of this class, so its `signal` is still made only if asked (a spread copy
   * would have to read it, making the call's AbortController, and on Node 20 its added keys make new
   * hidden classes on every call).
   */
  withIdAndBody(callId: string, body: Record<string, unknown>): HttpCallInput {
    const copy = new HttpCallInput(
      callId,
      this.callType,
      body,
      this.context,
      this.stream,
      this.clientAbort,
      this.carrier,
      this.request,
      this.noLog,
      this.startTime,
      this.pluginAccess,
    );
    if (this.hookState !== undefined) copy.hookState = this.hookState;
    if (this.hooksSkipped !== undefined) copy.hooksSkipped = this.hooksSkipped;
    if (this.timeoutMs !== undefined) copy.timeoutMs = this.timeoutMs;
    return copy;
  }
}

/** The whole-call timeout a caller chose: header `x-llmux-timeout` or body `timeout`, in seconds. */
function timeoutOverride(request: IncomingMessage, body: Record<string, unknown>): number | undefined {
  const header = request.headers["x-llmux-timeout"];
  const value =
    typeof header === "string" ? Number(header) : typeof body.timeout === "number" ? body.timeout : undefined;
  if (value === undefined) return undefined;
  if (!Number.isFinite(value) || value <= 0) {
    throw new LlmuxError({
      kind: "bad_request",
      message: "timeout must be a positive number of seconds",
      param: "timeout",
    });
  }
  return value * 1000;
}

/** W3C trace context of the incoming request. */
export function carrierOf(request: IncomingMessage): CallInput["carrier"] {
  const carrier: CallInput["carrier"] = {};
  const traceparent = request.headers.traceparent;
  const tracestate = request.headers.tracestate;
  if (typeof traceparent === "string") carrier.traceparent = traceparent;
  if (typeof tracestate === "string") carrier.tracestate = tracestate;
  return carrier;
}

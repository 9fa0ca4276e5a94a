import type { IncomingMessage, ServerResponse } from "node:http";
import type { NativeMessagesOptions } from "../anthropic-format/types";
import { isLlmuxError, LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { validateRequest } from "../validation/validate-request";
import type { Access } from "./authenticate";
import { json, sendOutcome } from "./create-handler";
import { anthropicErrorBody } from "./error-body";
import { prepareCall } from "./prepare-call";
import { SseWriter, STREAM_TRAILERS } from "./sse-writer";

/**
 * POST /v1/messages and POST /v1/messages/count_tokens: the Anthropic Messages API (Claude Code,
 * the Anthropic SDKs) on top of the same router, callbacks and pricing as /v1/chat/completions.
 * Auth is the same (x-api-key or Authorization: Bearer with the master key, or the host's
 * authorize hook); errors come back in Anthropic's shape, mid-stream ones as an `error` event.
 */

export async function handleMessagesRoute(
  gateway: Gateway,
  path: string,
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody: unknown,
  startTime: number,
  access: Access,
): Promise<void> {
  try {
    await serve(gateway, path === "/messages/count_tokens", request, response, parsedBody, startTime, access);
  } catch (raw) {
    sendAnthropicError(response, toLlmuxError(raw), gateway.scrub);
  }
}

async function serve(
  gateway: Gateway,
  countOnly: boolean,
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody: unknown,
  startTime: number,
  access: Access,
): Promise<void> {
  const input = await prepareCall(gateway, {
    callType: countOnly ? "count_tokens" : "messages",
    request,
    response,
    parsedBody,
    access,
    startTime,
    validate: (body) => validate(body, countOnly),
    // count_tokens spends nothing: budgets, limits and guardrails are not asked
    hooks: !countOnly,
  });
  if (!input) return;
  if (countOnly) {
    // Anthropic deployments count it themselves; every other one gets the tokenizer's estimate.
    const count = await gateway.countMessagesTokens(input, nativeOptions(request));
    const headers: Record<string, string> = { "x-llmux-token-count-source": count.source };
    if (count.deploymentId) headers["x-llmux-model-id"] = count.deploymentId;
    json(response, 200, { input_tokens: count.inputTokens }, headers);
    return;
  }
  const options = nativeOptions(request);

  if (!input.stream) {
    const outcome = await gateway.messages(input, options);
    sendOutcome(response, outcome);
    return;
  }
  const outcome = await gateway.messagesStream(input, options);
  const writer = new SseWriter(response);
  try {
    writer.open(200, outcome.headers, outcome.trailers && STREAM_TRAILERS);
  } catch (error) {
    // The stream was never started: release its attempt and upstream before answering.
    await outcome.cancel();
    throw error;
  }
  try {
    // The events of one upstream read are written together, with one wait for the socket per read.
    while (true) {
      const batch = await outcome.nextBatch();
      if (batch === undefined) break;
      if (writer.isClosed) return await outcome.cancel();
      for (const item of batch) writer.add(item.raw ?? JSON.stringify(item.event), item.event.type);
      await writer.writable();
    }
    writer.end(undefined, outcome.trailers?.());
  } catch (raw) {
    const error = toLlmuxError(raw);
    if (error.kind !== "aborted") await writer.data(JSON.stringify(anthropicErrorBody(error)), "error");
    writer.end();
  }
}

function validate(body: Record<string, unknown>, countOnly: boolean): void {
  validateRequest(countOnly ? "count_tokens" : "messages", body);
}

/** The client's anthropic-beta flags, forwarded to native (Anthropic, Bedrock Claude) deployments. */
function nativeOptions(request: IncomingMessage): NativeMessagesOptions {
  const header = request.headers["anthropic-beta"];
  const values = (Array.isArray(header) ? header : header ? [header] : [])
    .flatMap((value) => value.split(","))
    .map((value) => value.trim())
    .filter((value) => value.length > 0);
  return values.length > 0 ? { beta: values } : {};
}

/** Anthropic's error shape with the right status (and retry-after when the upstream gave one). */
function sendAnthropicError(
  response: ServerResponse,
  error: LlmuxError,
  scrub: (text: string) => string,
): void {
  if (error.kind === "aborted" || response.destroyed) {
    if (!response.headersSent) response.destroy();
    return;
  }
  if (response.headersSent) {
    response.end();
    return;
  }
  const message = scrub(error.message);
  const safe =
    isLlmuxError(error) && message !== error.message
      ? new LlmuxError({ kind: error.kind, status: error.status, message })
      : error;
  const headers: Record<string, string> = {};
  if (error.retryAfterMs !== undefined)
    headers["retry-after"] = String(Math.max(1, Math.ceil(error.retryAfterMs / 1000)));
  json(response, error.status, anthropicErrorBody(safe), headers);
}

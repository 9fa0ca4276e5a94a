import type { IncomingMessage, ServerResponse } from "node:http";
import { LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import type { Access } from "./authenticate";
import { json } from "./create-handler";
import { prepareCall } from "./prepare-call";
import { SseWriter, STREAM_TRAILERS } from "./sse-writer";

/**
 * POST /v1/responses: the OpenAI Responses API (openai's responses.create / responses.stream, the
 * Vercel AI SDK's default OpenAI provider, LangChain's useResponsesApi, Codex) on top of the same
 * router, callbacks and pricing as chat. Streams are typed SSE events (`event: response.created` ...
 * `response.completed`); a failure after the first byte ends the stream with an `error` event.
 */
export async function handleResponsesRoute(
  gateway: Gateway,
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody: unknown,
  startTime: number,
  access: Access,
): Promise<void> {
  const input = await prepareCall(gateway, {
    callType: "responses",
    request,
    response,
    parsedBody,
    access,
    startTime,
    validate,
  });
  if (!input) return;
  if (!input.stream) {
    const outcome = await gateway.responses(input);
    json(response, 200, outcome.body, outcome.headers, outcome.raw);
    return;
  }
  const outcome = await gateway.responsesStream(input);
  const writer = new SseWriter(response);
  try {
    writer.open(200, outcome.headers, outcome.trailers && STREAM_TRAILERS);
  } catch (error) {
    await outcome.cancel();
    throw error;
  }
  let sequence = 0;
  try {
    for await (const item of outcome.events) {
      if (writer.isClosed) break;
      if (typeof item.event.sequence_number === "number") sequence = item.event.sequence_number + 1;
      await writer.data(item.raw ?? JSON.stringify(item.event), item.event.type);
    }
    writer.end(undefined, outcome.trailers?.());
  } catch (raw) {
    const error = toLlmuxError(raw);
    if (error.kind !== "aborted") {
      const event = {
        type: "error",
        code: error.code ?? error.kind,
        message: gateway.scrub(error.message),
        param: error.param ?? null,
        sequence_number: sequence,
      };
      await writer.data(JSON.stringify(event), "error");
    }
    writer.end();
  }
}

function validate(body: Record<string, unknown>): void {
  if (typeof body.model !== "string" || body.model.length === 0) {
    throw invalid("'model' is required and must be a string", "model");
  }
  const input = body.input;
  if (input !== undefined && typeof input !== "string" && !Array.isArray(input)) {
    throw invalid("'input' must be a string or an array of input items", "input");
  }
  if (Array.isArray(input)) {
    for (const [index, item] of input.entries()) {
      if (!item || typeof item !== "object" || Array.isArray(item))
        throw invalid(`input[${index}] must be an object`, `input[${index}]`);
    }
  }
  if (
    (input === undefined || input === "" || (Array.isArray(input) && input.length === 0)) &&
    (body.previous_response_id === undefined || body.previous_response_id === null) &&
    typeof body.instructions !== "string"
  ) {
    throw invalid("'input' is required: a string or an array of input items", "input");
  }
  if (body.instructions !== undefined && body.instructions !== null && typeof body.instructions !== "string")
    throw invalid("'instructions' must be a string", "instructions");
  if (
    body.previous_response_id !== undefined &&
    body.previous_response_id !== null &&
    typeof body.previous_response_id !== "string"
  )
    throw invalid("'previous_response_id' must be a string", "previous_response_id");
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== "boolean")
    throw invalid("'stream' must be a boolean", "stream");
  if (body.tools !== undefined && !Array.isArray(body.tools))
    throw invalid("'tools' must be an array", "tools");
}

function invalid(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "invalid_request_error" });
}

/**
 * The optional `POST /feedback` plugin route: `{ call_id? | trace_id?, observation_id?, name,
 * value, comment? }` → a Langfuse score. `call_id` (the x-llmux-call-id response header) is
 * resolved through the tracer's bounded memory of recent calls to the call span's trace and
 * span ids. Errors use OpenAI's error shape.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { PluginRoute } from "@llmux/callbacks";
import { isLlmuxOtelError } from "./errors";
import type { LangfuseFeedback, LlmuxCallTracer, ScoreInput } from "./types";

const MAX_BODY_BYTES = 64 * 1024;
const HEX_TRACE_ID = /^[0-9a-f]{32}$/;
const HEX_SPAN_ID = /^[0-9a-f]{16}$/;

class BadRequest extends Error {
  constructor(
    message: string,
    readonly param: string | null,
    readonly status = 400,
    readonly type = "invalid_request_error",
    readonly code: string | null = null,
  ) {
    super(message);
  }
}

function sendJson(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) return;
  const text = JSON.stringify(body);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": Buffer.byteLength(text),
  });
  response.end(text);
}

function sendError(response: ServerResponse, error: BadRequest): void {
  sendJson(response, error.status, {
    error: { message: error.message, type: error.type, param: error.param, code: error.code },
  });
}

async function readBody(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > MAX_BODY_BYTES) throw new BadRequest("Request body too large", null, 413);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (!text.trim()) throw new BadRequest("Request body is empty; expected a JSON object", null);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest("Request body is not valid JSON", null);
  }
}

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value.length === 0)
    throw new BadRequest(`'${key}' must be a non-empty string`, key);
  return value;
}

/** Validates the body and resolves the call to a trace; throws BadRequest. */
export function parseFeedback(body: unknown, tracer: Pick<LlmuxCallTracer, "lookupCall">): ScoreInput {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new BadRequest("Request body must be a JSON object", null);
  }
  const fields = body as Record<string, unknown>;
  const name = optionalString(fields, "name");
  if (!name) throw new BadRequest("'name' is required", "name");
  if (name.length > 200) throw new BadRequest("'name' must be at most 200 characters", "name");
  const value = fields.value;
  if (
    !(
      typeof value === "string" ||
      typeof value === "boolean" ||
      (typeof value === "number" && Number.isFinite(value))
    )
  ) {
    throw new BadRequest("'value' is required and must be a number, a string or a boolean", "value");
  }
  const comment = optionalString(fields, "comment");
  const callId = optionalString(fields, "call_id");
  let traceId = optionalString(fields, "trace_id")?.toLowerCase();
  let observationId = optionalString(fields, "observation_id")?.toLowerCase();
  if (traceId !== undefined && !HEX_TRACE_ID.test(traceId)) {
    throw new BadRequest("'trace_id' must be a 32-character hex trace id", "trace_id");
  }
  if (observationId !== undefined && !HEX_SPAN_ID.test(observationId)) {
    throw new BadRequest("'observation_id' must be a 16-character hex span id", "observation_id");
  }
  if (traceId === undefined) {
    if (callId === undefined) throw new BadRequest("Either 'call_id' or 'trace_id' is required", "call_id");
    const recorded = tracer.lookupCall(callId);
    if (!recorded) {
      throw new BadRequest(
        `No recent call with call_id '${callId.slice(0, 100)}' (only recent calls of this process are remembered; send trace_id instead)`,
        "call_id",
        404,
        "invalid_request_error",
        "call_not_found",
      );
    }
    traceId = recorded.traceId;
    observationId ??= recorded.spanId;
  }
  const score: ScoreInput = { traceId, name, value: value as ScoreInput["value"] };
  if (observationId) score.observationId = observationId;
  if (comment !== undefined) score.comment = comment;
  return score;
}

export function feedbackRoute(
  tracer: Pick<LlmuxCallTracer, "lookupCall">,
  feedback: LangfuseFeedback,
): PluginRoute {
  return {
    method: "POST",
    path: "/feedback",
    async handle(request, response, body) {
      try {
        const payload = body === undefined ? await readBody(request) : body;
        const score = parseFeedback(payload, tracer);
        const result = await feedback.score(score);
        sendJson(response, 200, {
          status: "ok",
          trace_id: score.traceId,
          observation_id: score.observationId ?? null,
          score_id: result.id ?? null,
        });
      } catch (error) {
        if (error instanceof BadRequest) sendError(response, error);
        else if (isLlmuxOtelError(error)) {
          sendError(response, new BadRequest(error.message, null, 502, "api_error", "feedback_failed"));
        } else {
          sendError(response, new BadRequest("Feedback could not be recorded", null, 500, "api_error", null));
        }
      }
    },
  };
}

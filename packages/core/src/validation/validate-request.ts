import type { z } from "zod";
import { LlmuxError } from "../errors/llmux-error";
import { chatBodySurelyValid } from "./chat-shape-check";
import {
  chatRequestSchema,
  countTokensRequestSchema,
  embeddingsRequestSchema,
  messagesRequestSchema,
} from "./request-schemas";

export type RequestShape = "chat" | "embeddings" | "messages" | "count_tokens";

const SCHEMAS: Record<RequestShape, z.ZodType> = {
  chat: chatRequestSchema,
  embeddings: embeddingsRequestSchema,
  messages: messagesRequestSchema,
  count_tokens: countTokensRequestSchema,
};

/**
 * Checks a request body against its API's shape before anything is routed, so a malformed call is
 * the caller's 400 (naming the field, e.g. `messages.0.content`) and never reaches an upstream that
 * might answer it with a 5xx and cool a healthy deployment. Extra fields are allowed; the body is
 * not changed.
 */
export function validateRequest(shape: RequestShape, body: Record<string, unknown>): void {
  // the common valid chat body: checked without zod (any doubt goes to the schema below)
  if (shape === "chat" && chatBodySurelyValid(body)) return;
  const result = SCHEMAS[shape].safeParse(body);
  if (result.success) return;
  const issue = result.error.issues[0]!;
  const param = issue.path.map(String).join(".") || null;
  throw new LlmuxError({
    kind: "bad_request",
    message: param ? `${param}: ${issue.message}` : issue.message,
    param,
    code: codeFor(shape, issue.path[0]),
  });
}

/** The error codes llmux used before the schemas (kept: clients may match them). */
function codeFor(shape: RequestShape, field: PropertyKey | undefined): string {
  if (field === "model") return "missing_model";
  if (field === "messages" && shape === "chat") return "invalid_messages";
  if (field === "input") return "invalid_input";
  return "invalid_request";
}

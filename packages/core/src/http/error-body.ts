import type { ErrorKind } from "@llmux/callbacks";
import type { LlmuxError } from "../errors/llmux-error";

const OPENAI_TYPES: Partial<Record<ErrorKind, string>> = {
  bad_request: "invalid_request_error",
  context_window_exceeded: "invalid_request_error",
  content_policy: "invalid_request_error",
  not_found: "invalid_request_error",
  request_too_large: "invalid_request_error",
  authentication: "authentication_error",
  permission_denied: "permission_error",
  rate_limit: "rate_limit_error",
  timeout: "timeout_error",
  connection: "api_connection_error",
  server_error: "api_error",
  unavailable: "service_unavailable_error",
  aborted: "request_aborted",
  internal: "api_error",
};

/** OpenAI's error shape: {"error":{"message","type","param","code"}}. */
export function openAiErrorBody(error: LlmuxError): Record<string, unknown> {
  return {
    error: {
      message: error.message,
      // An upstream credential or model failure is the gateway's problem (5xx), not the caller's.
      type:
        error.errorType ??
        (error.status >= 500 && error.kind !== "unavailable" && error.kind !== "timeout"
          ? "api_error"
          : (OPENAI_TYPES[error.kind] ?? "api_error")),
      param: error.param,
      code: error.code ?? error.kind,
    },
  };
}

/** Anthropic's error shape: {"type":"error","error":{"type","message"}}. */
export function anthropicErrorBody(error: LlmuxError): Record<string, unknown> {
  let type = "api_error";
  if (error.status === 400 || error.status === 422) type = "invalid_request_error";
  else if (error.status === 401) type = "authentication_error";
  else if (error.status === 403) type = "permission_error";
  else if (error.status === 404) type = "not_found_error";
  else if (error.status === 413) type = "request_too_large";
  else if (error.status === 429) type = "rate_limit_error";
  else if (error.status === 503 || error.status === 529) type = "overloaded_error";
  else if (error.status === 504 || error.status === 408) type = "timeout_error";
  return { type: "error", error: { type, message: error.message } };
}

import { rejectCall } from "@llmux/callbacks";

/**
 * The errors the control plane answers with, in LiteLLM's shapes (status, `error.type`, `retry-after`):
 * recognisable without instanceof (a CallRejection of @llmux/callbacks, `kind: "call_rejection"`).
 */
export function authError(message: string) {
  return rejectCall(401, message, { errorType: "auth_error", code: "401" });
}

export function modelAccessDenied(
  message: string,
  errorType: "key_model_access_denied" | "team_model_access_denied" | "user_model_access_denied",
) {
  return rejectCall(401, message, { errorType, code: "401" });
}

export function budgetExceeded(message: string) {
  return rejectCall(400, message, { errorType: "budget_exceeded", code: "400" });
}

export function rateLimited(message: string, retryAfterMs: number) {
  return rejectCall(429, message, { errorType: "rate_limit_error", code: "429", retryAfterMs });
}

export function databaseUnavailable(message = "The control plane database is unavailable; try again later") {
  return rejectCall(503, message, { errorType: "no_db_connection", code: "503" });
}

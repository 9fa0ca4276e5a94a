import type { ServerResponse } from "node:http";

/** Where a call's id waits for the response's headers (a symbol: no clash with the host's own fields). */
const CALL_ID = Symbol.for("llmux.call-id");

type WithCallId = ServerResponse & { [CALL_ID]?: string };

/**
 * Remembers a call's id until the response's headers are written. Not `setHeader`: once any header
 * is set before `writeHead`, Node sends every header of the call through `setHeader` and its
 * validation one by one (about 5 % of a cache hit's CPU); headers handed to `writeHead` alone are
 * taken as they are.
 */
export function rememberCallId(response: ServerResponse, callId: string): void {
  (response as WithCallId)[CALL_ID] = callId;
}

/** `headers` with the response's call id added (when a call was prepared on it); the same object. */
export function withCallId<T extends Record<string, string | number>>(
  response: ServerResponse,
  headers: T,
): T {
  const callId = (response as WithCallId)[CALL_ID];
  if (callId !== undefined) (headers as Record<string, string | number>)["x-llmux-call-id"] = callId;
  return headers;
}

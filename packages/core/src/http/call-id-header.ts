import type { ServerResponse } from "node:http";

/**
 * Each response's call id until its headers are written, beside the response rather than on it. A
 * property added to a host's response object costs a new hidden class on every call where the host
 * changed the response's prototype (Express sets it per request): on Node 20 (V8 11.3) such an object
 * takes no shared transition, so each added key copies its map and descriptors (about 1-2 µs, old-space
 * garbage). A WeakMap entry costs neither, and goes with the response. One map per process (under a
 * registered symbol, as the property was), so copies of this package see each other's ids.
 */
const CALL_IDS = Symbol.for("llmux.call-ids");
const holder = globalThis as typeof globalThis & { [CALL_IDS]?: WeakMap<ServerResponse, string> };
holder[CALL_IDS] ??= new WeakMap();
const callIds: WeakMap<ServerResponse, string> = holder[CALL_IDS];

/**
 * Remembers a call's id until the response's headers are written. Not `setHeader`: once any header
 * is set before `writeHead`, Node sends every header of the call through `setHeader` and its
 * validation one by one (about 5 % of a cache hit's CPU); headers handed to `writeHead` alone are
 * taken as they are.
 */
export function rememberCallId(response: ServerResponse, callId: string): void {
  callIds.set(response, callId);
}

/** `headers` with the response's call id added (when a call was prepared on it); the same object. */
export function withCallId<T extends Record<string, string | number>>(
  response: ServerResponse,
  headers: T,
): T {
  const callId = callIds.get(response);
  if (callId !== undefined) (headers as Record<string, string | number>)["x-llmux-call-id"] = callId;
  return headers;
}

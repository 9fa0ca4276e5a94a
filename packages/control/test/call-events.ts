import { IncomingMessage } from "node:http";
import { Socket } from "node:net";
import type { BeforeCallContext } from "@llmux/callbacks";

/**
 * A chat call's context as the gateway hands it to the request hooks: `access` is the object the
 * plane's authenticate returned, `state` the call's own hook state (`withState: false`: none, as an
 * older @llmux/core gives).
 */
export function hookContext(
  callId: string,
  access: unknown,
  {
    request = new IncomingMessage(new Socket()),
    withState = true,
  }: { request?: unknown; withState?: boolean } = {},
): BeforeCallContext {
  const context = {
    callId,
    callType: "chat",
    modelGroup: "gpt-4o",
    body: { model: "gpt-4o", messages: [] },
    context: { metadata: {}, tags: [] },
    request,
    access,
    ...(withState ? { state: {} } : {}),
  };
  return context as unknown as BeforeCallContext;
}

/** The final event of a successful gpt-4o chat call that cost `cost`: what the plane's afterCall reads of it. */
export function successEvent(callId: string, cost: number, time = Date.now()) {
  return {
    callId,
    callType: "chat",
    status: "success",
    modelGroup: "gpt-4o",
    requestedModel: "gpt-4o",
    tags: [],
    cost: { total: cost },
    timings: { startTime: time, endTime: time, durationMs: 1 },
  };
}

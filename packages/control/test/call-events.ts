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

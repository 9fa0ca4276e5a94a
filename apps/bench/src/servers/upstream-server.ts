/**
 * Child process: the upstream side of every scenario. The llmux mock provider (OpenAI shape,
 * deterministic, no recorded requests) and an OTLP/HTTP receiver for the spans of the
 * "everything on" scenarios. Both live here, away from the server under test, so their CPU and
 * memory never count as the server's. They still share the machine with it: the receiver only counts
 * the spans of each export (`countOnly`, a walk of the protobuf's framing) instead of decoding every
 * attribute into objects, which took about 0.09 ms of CPU per call from the same two cores. It
 * forgets its requests every second (it only keeps running counts) so a 200k-call soak does not grow it.
 */
import { startMockProvider, startOtlpReceiver } from "@llmux/testing";
import { serveChild } from "../server-protocol";

serveChild(async () => {
  const mock = await startMockProvider({ host: "127.0.0.1", port: 0, recordRequests: false });
  const receiver = await startOtlpReceiver({ host: "127.0.0.1", port: 0, countOnly: true });
  // counted per request path: each server under test exports to <receiver>/<its name>/v1/traces
  const spans = new Map<string, number>();
  const exportRequests = new Map<string, number>();
  const add = (counts: Map<string, number>, path: string, count: number) =>
    counts.set(path, (counts.get(path) ?? 0) + count);
  const drain = () => {
    for (const request of receiver.requests) {
      add(spans, request.path, request.spanCount);
      add(exportRequests, request.path, 1);
    }
    receiver.reset();
  };
  const timer = setInterval(drain, 1000);
  timer.unref();
  return {
    url: mock.url,
    details: { receiverUrl: receiver.url },
    async telemetry() {
      drain();
      return { spans: Object.fromEntries(spans), exportRequests: Object.fromEntries(exportRequests) };
    },
    async close() {
      clearInterval(timer);
      await Promise.all([mock.close(), receiver.close()]);
    },
  };
});

/**
 * Child process: the upstream side of every scenario. The llmux mock provider (OpenAI shape,
 * deterministic, no recorded requests) and an OTLP/HTTP receiver for the spans of the
 * "everything on" scenarios. Both live here, away from the server under test, so their CPU and
 * memory never count as the server's. The receiver forgets decoded spans every second (it only
 * keeps a running count) so a 200k-call soak does not grow it.
 */
import { startMockProvider, startOtlpReceiver } from "@llmux/testing";
import { serveChild } from "../server-protocol";

serveChild(async () => {
  const mock = await startMockProvider({ host: "127.0.0.1", port: 0, recordRequests: false });
  const receiver = await startOtlpReceiver({ host: "127.0.0.1", port: 0 });
  // counted per request path: each server under test exports to <receiver>/<its name>/v1/traces
  const spans = new Map<string, number>();
  const exportRequests = new Map<string, number>();
  const add = (counts: Map<string, number>, path: string, count: number) =>
    counts.set(path, (counts.get(path) ?? 0) + count);
  const drain = () => {
    for (const span of receiver.spans) add(spans, span.path, 1);
    for (const request of receiver.requests) add(exportRequests, request.path, 1);
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

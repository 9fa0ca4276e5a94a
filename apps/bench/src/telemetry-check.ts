/**
 * Proof that "everything on" really was on: after the load, the Prometheus route counts the calls,
 * the upstream's OTLP receiver counts the spans, and the JSONL sink reports its delivered events.
 */
import { request } from "undici";
import type { ChildServerHandle } from "./child-server";
import { BENCH_MASTER_KEY } from "./servers/bench-keys";

export async function collectTelemetry(
  server: ChildServerHandle,
  upstream: ChildServerHandle,
): Promise<Record<string, unknown>> {
  await server.request("flush");
  const fromServer = await server.request<Record<string, unknown>>("telemetry");
  const fromUpstream = await upstream.request<Record<string, unknown>>("telemetry");
  let requestsTotal: number | null = null;
  try {
    const response = await request(`${server.url}/v1/metrics`, {
      headers: { authorization: `Bearer ${BENCH_MASTER_KEY}` },
    });
    const text = await response.body.text();
    if (response.statusCode === 200) {
      requestsTotal = 0;
      for (const line of text.split("\n")) {
        if (line.startsWith("llmux_requests_total"))
          requestsTotal += Number(line.slice(line.lastIndexOf(" ") + 1));
      }
    }
  } catch {
    // reported as null
  }
  const path = `/${server.name}/v1/traces`;
  const spans = (fromUpstream.spans ?? {}) as Record<string, number>;
  const exports = (fromUpstream.exportRequests ?? {}) as Record<string, number>;
  return {
    prometheusRequestsTotal: requestsTotal,
    spansReceived: spans[path] ?? 0,
    otlpExportRequests: exports[path] ?? 0,
    sinks: fromServer.sinks ?? null,
    plugins: fromServer.plugins ?? null,
  };
}

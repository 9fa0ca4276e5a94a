/**
 * Requests that get no trace of their own when llmux runs the host's HTTP instrumentation
 * (setupTracing): health probes, `HEAD /` (Claude Code's base-URL check) and llmux's feedback route.
 * A load balancer probing every few seconds would otherwise fill Langfuse and MLflow with traces
 * named "GET", and each feedback score would arrive with a trace of its own beside the one it scores.
 * Hosts that run their own OpenTelemetry SDK can pass this function to their HttpInstrumentation as
 * `ignoreIncomingRequestHook` for the same effect.
 */
import type { IncomingMessage } from "node:http";

const HEALTH_PATH = /(?:^|\/)health(?:\/(?:liveliness|liveness|readiness))?\/?$/;
const FEEDBACK_PATH = /\/feedback\/?$/;

export function isUntracedRequest(request: Pick<IncomingMessage, "method" | "url">): boolean {
  const method = request.method ?? "GET";
  const url = request.url ?? "/";
  const query = url.indexOf("?");
  const path = query === -1 ? url : url.slice(0, query);
  if (method === "GET" || method === "HEAD") {
    if (HEALTH_PATH.test(path)) return true;
    return method === "HEAD" && path === "/";
  }
  return method === "POST" && FEEDBACK_PATH.test(path);
}

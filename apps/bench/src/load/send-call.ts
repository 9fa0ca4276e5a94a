/**
 * One call through an undici Pool: sends the request, reads the whole body, and times it
 * (time to first body byte for streams). A call counts as an error unless it got 200 and a
 * complete answer (a JSON completion, or an SSE stream that ends with `data: [DONE]`).
 */
import type { Pool } from "undici";
import { type CallKind, CHAT_PATH, requestBody, requestHeaders } from "./call-spec";

export interface CallTiming {
  ok: boolean;
  /** Start to last body byte, ms. */
  latencyMs: number;
  /** Start to first body byte, ms (streams). */
  firstChunkMs: number;
  error?: string;
}

const DONE = "data: [DONE]";

export async function sendCall(
  pool: Pool,
  kind: CallKind,
  startedAt = performance.now(),
  extraHeaders?: Record<string, string>,
): Promise<CallTiming> {
  try {
    const response = await pool.request({
      path: CHAT_PATH,
      method: "POST",
      headers: extraHeaders ? { ...requestHeaders(kind), ...extraHeaders } : requestHeaders(kind),
      body: requestBody(kind),
    });
    let firstChunkMs = -1;
    let tail = "";
    let bytes = 0;
    for await (const chunk of response.body as AsyncIterable<Buffer>) {
      if (firstChunkMs < 0) firstChunkMs = performance.now() - startedAt;
      bytes += chunk.length;
      // keep only the end: enough to see the terminator or the JSON's closing brace
      tail = (tail + chunk.toString("latin1")).slice(-64);
    }
    const latencyMs = performance.now() - startedAt;
    if (response.statusCode !== 200) {
      return { ok: false, latencyMs, firstChunkMs, error: `status ${response.statusCode}: ${tail}` };
    }
    const complete = kind === "stream" ? tail.includes(DONE) : bytes > 0 && tail.trimEnd().endsWith("}");
    return complete
      ? { ok: true, latencyMs, firstChunkMs }
      : { ok: false, latencyMs, firstChunkMs, error: `incomplete ${kind} body (…${tail})` };
  } catch (error) {
    return { ok: false, latencyMs: performance.now() - startedAt, firstChunkMs: -1, error: String(error) };
  }
}

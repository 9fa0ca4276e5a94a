import type { Readable } from "node:stream";
import { usageFromOpenAI } from "@llmux/pricing";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import { readSse } from "../../upstream/read-sse";
import { transportError } from "../../upstream/upstream-client";
import type { StreamItem } from "../types";

/**
 * Decodes an OpenAI SSE stream into chunks. Each chunk keeps its raw JSON so the handler can forward
 * it byte for byte; the usage chunk is marked so it can be stripped or priced.
 */
export async function* openAiStream(
  body: Readable,
  context: { provider: string; deploymentId: string; signal: AbortSignal; scrub?: (text: string) => string },
): AsyncGenerator<StreamItem> {
  const end = { complete: false };
  const events = readSse(body, end);
  let finished = false;
  try {
    while (true) {
      let next: IteratorResult<{ data: string; event?: string | undefined }>;
      try {
        next = await events.next();
      } catch (error) {
        throw transportError(error, context);
      }
      if (next.done) break;
      const data = next.value.data;
      if (data === "[DONE]") {
        end.complete = true;
        return;
      }
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(data) as Record<string, unknown>;
      } catch {
        throw new LlmuxError({
          kind: "server_error",
          message: `${context.provider} sent a stream event that is not valid JSON`,
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      if (chunk.error) {
        // An error sent in-band (vLLM and others answer 200 and then an error event).
        const error = chunk.error as { message?: string; type?: string; code?: string };
        throw classifyStreamError({
          type: error.code ?? error.type,
          message: (context.scrub ?? String)(String(error.message ?? "unknown")),
          provider: context.provider,
          deploymentId: context.deploymentId,
        });
      }
      const choice = (chunk.choices as Array<{ finish_reason?: unknown }> | undefined)?.[0];
      if (choice?.finish_reason) finished = true;
      const usage = chunk.usage as Record<string, unknown> | null | undefined;
      if (usage) {
        const choices = chunk.choices as unknown[] | undefined;
        yield {
          chunk,
          raw: data,
          usage: usageFromOpenAI(usage),
          usageOnly: !choices || choices.length === 0,
        };
      } else {
        yield { chunk, raw: data };
      }
    }
    // Some OpenAI-compatible servers omit [DONE]; a stream that ends before any finish_reason was cut off.
    if (finished) return;
    throw new LlmuxError({
      kind: "connection",
      message: `${context.provider} stream ended before [DONE]`,
      provider: context.provider,
      deploymentId: context.deploymentId,
    });
  } finally {
    await events.return(undefined);
  }
}

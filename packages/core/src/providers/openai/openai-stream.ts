import type { Readable } from "node:stream";
import { usageFromOpenAI } from "@llmux/pricing";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { classifyStreamError } from "../../errors/classify";
import { LlmuxError } from "../../errors/llmux-error";
import { BodyReader } from "../../upstream/body-reader";
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
  // One generator from socket to chunk: the SSE parser runs inline (no second generator per event).
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const reader = BodyReader.of(body);
  let complete = false;
  let finished = false;
  try {
    while (true) {
      if (pending.length === 0) {
        let text: string | undefined;
        try {
          text = await reader.next();
        } catch (error) {
          throw transportError(error, context);
        }
        if (text === undefined) break;
        parser.feed(text);
        continue;
      }
      const data = pending.shift()!.data;
      if (data === "[DONE]") {
        complete = true;
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
    reader.close(complete);
  }
}

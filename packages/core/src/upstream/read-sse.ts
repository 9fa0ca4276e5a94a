import type { Readable } from "node:stream";
import { createParser, type EventSourceMessage } from "eventsource-parser";

/**
 * Reads an upstream SSE body and yields each event's data as it arrives (eventsource-parser does
 * the framing). Closing the iterator early destroys the body, which releases the upstream socket.
 */
export async function* readSse(body: Readable): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const decoder = new TextDecoder();
  try {
    for await (const bytes of body as AsyncIterable<Uint8Array>) {
      parser.feed(decoder.decode(bytes, { stream: true }));
      while (pending.length > 0) yield pending.shift()!;
    }
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

/** Reads newline-delimited JSON (Ollama's stream format). */
export async function* readNdjson(body: Readable): AsyncGenerator<string> {
  let buffer = "";
  const decoder = new TextDecoder();
  try {
    for await (const bytes of body as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(bytes, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) yield line;
        newline = buffer.indexOf("\n");
      }
    }
    if (buffer.trim()) yield buffer.trim();
  } finally {
    if (!body.destroyed) body.destroy();
  }
}

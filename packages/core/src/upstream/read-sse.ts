import type { Readable } from "node:stream";
import { createParser, type EventSourceMessage } from "eventsource-parser";
import { BodyReader } from "./body-reader";

/**
 * Reads an upstream SSE body and yields each event as it arrives (eventsource-parser does the
 * framing). Stopping early destroys the body, releasing the upstream.
 */
export async function* readSse(body: Readable): AsyncGenerator<EventSourceMessage> {
  const pending: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => pending.push(event) });
  const reader = BodyReader.of(body);
  let finished = false;
  try {
    while (true) {
      const text = await reader.next();
      if (text === undefined) {
        finished = true;
        return;
      }
      parser.feed(text);
      while (pending.length > 0) yield pending.shift()!;
    }
  } finally {
    reader.close(finished);
  }
}

/** Reads newline-delimited JSON (Ollama's stream format). */
export async function* readNdjson(body: Readable): AsyncGenerator<string> {
  let buffer = "";
  const reader = BodyReader.of(body);
  let finished = false;
  try {
    while (true) {
      const text = await reader.next();
      if (text === undefined) break;
      buffer += text;
      let newline = buffer.indexOf("\n");
      while (newline !== -1) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) yield line;
        newline = buffer.indexOf("\n");
      }
    }
    finished = true;
    if (buffer.trim()) yield buffer.trim();
  } finally {
    reader.close(finished);
  }
}

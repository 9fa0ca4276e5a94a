import type { IncomingMessage } from "node:http";
import { LlmuxError } from "../errors/llmux-error";

/**
 * The JSON body of a request, whether or not the host parsed it already. `parsed` is what the host's
 * body parser produced (express.json, koa-bodyparser, Nest); when absent the stream is read here,
 * up to `limit` bytes (413 beyond), and parsed (400 when it is not a JSON object).
 */
export async function readJsonBody(
  request: IncomingMessage,
  limit: number,
  parsed?: unknown,
): Promise<Record<string, unknown>> {
  const declared = Number(request.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) {
    if (parsed === undefined) request.resume();
    throw tooLarge(limit);
  }
  if (parsed !== undefined) return asObject(parsed);
  const text = (await bufferedBody(request, limit)) ?? chunksText(await readChunks(request, limit));
  if (text.length === 0)
    throw new LlmuxError({
      kind: "bad_request",
      message: "The request body is empty; expected a JSON object",
      code: "invalid_json",
    });
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new LlmuxError({
      kind: "bad_request",
      message: `The request body is not valid JSON: ${(error as Error).message}`,
      code: "invalid_json",
    });
  }
  // valid JSON nested n deep has n opening and n closing brackets: a shorter text cannot exceed the limit
  return asObject(value, text.length <= 2 * MAX_NESTING_DEPTH);
}

function asObject(value: unknown, shallow = false): Record<string, unknown> {
  if (typeof value === "string") {
    try {
      value = JSON.parse(value);
    } catch (error) {
      throw new LlmuxError({
        kind: "bad_request",
        message: `The request body is not valid JSON: ${(error as Error).message}`,
        code: "invalid_json",
      });
    }
  }
  if (!value || typeof value !== "object" || Array.isArray(value)) {
    throw new LlmuxError({
      kind: "bad_request",
      message: "The request body must be a JSON object",
      code: "invalid_json",
    });
  }
  if (!shallow && nestingDepthExceeds(value, MAX_NESTING_DEPTH)) {
    throw new LlmuxError({
      kind: "bad_request",
      message: `The request body is nested deeper than ${MAX_NESTING_DEPTH} levels`,
      code: "invalid_json",
    });
  }
  return value as Record<string, unknown>;
}

function tooLarge(limit: number): LlmuxError {
  return new LlmuxError({
    kind: "request_too_large",
    message: `The request body exceeds the limit of ${limit} bytes (general_settings.max_request_size_mb)`,
    code: "request_too_large",
  });
}

/**
 * The body's text when Node's parser already holds all of it, taken in one `read()`; undefined when
 * it does not (then it is read as it arrives, `readChunks`).
 *
 * A route runs inside the request's `'request'` event, which Node emits as soon as the headers are
 * parsed. Node's parser reads the socket itself and calls into JavaScript once per part of the
 * message, running the promise jobs and ticks queued after each, so a body in the same packet as the
 * headers (nearly every JSON call) is parsed before the loop's next `setImmediate`, not before the
 * next promise job. After that one wait the whole body sits in the request's buffer: no flowing mode,
 * no four listeners added and removed. Nobody else reads the stream (a host parser would have given
 * `parsed`), and `read()` on an ended stream emits its `'end'` and `'close'` as reading to the end does.
 */
async function bufferedBody(request: IncomingMessage, limit: number): Promise<string | undefined> {
  if (!request.complete) await new Promise<void>((resolve) => setImmediate(resolve));
  if (!request.complete || request.readableEnded || request.readableFlowing) return undefined;
  // over the limit (a chunked body, no content-length): refused as it arrives, by readChunks
  if (request.readableLength > limit) return undefined;
  // all of it in one Buffer (a string if the host set an encoding); null for an empty body
  const chunk = request.read() as Buffer | string | null;
  markConsumed(request);
  if (chunk === null) return "";
  return typeof chunk === "string" ? chunk : chunk.toString("utf8");
}

/**
 * Tells Node that the body was read. When the response finishes, Node drains a request nobody read
 * (`_dump`: its listeners removed, the stream resumed, a tick of stream events) so that the socket
 * can serve the next request; it knows a request was read by `_consuming`, which only its `_read`
 * sets, and a `read()` of a body that had all arrived never calls `_read`. This one was read to its
 * end, so there is nothing to drain: without the mark every call paid the drain (a few µs on
 * Express, whose requests have a hidden class each, so every property access in it misses).
 */
function markConsumed(request: IncomingMessage): void {
  const internals = request as IncomingMessage & { _consuming?: unknown };
  if (request.complete && request.readableLength === 0 && internals._consuming === false)
    internals._consuming = true;
}

function chunksText(chunks: Buffer[]): string {
  return chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8");
}

/** Reads the request with plain listeners (no async iterator and promise per chunk), up to `limit` bytes. */
function readChunks(request: IncomingMessage, limit: number): Promise<Buffer[]> {
  // gone while bufferedBody waited: its 'close' was emitted already, no listener would hear it
  if (request.destroyed && !request.complete) return Promise.reject(clientLeft());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      request.off("data", onData);
      request.off("end", onEnd);
      request.off("error", onError);
      request.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        request.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(
        new LlmuxError({ kind: "aborted", message: `The request body could not be read: ${error.message}` }),
      );
    };
    const onClose = () => {
      if (request.readableEnded) return;
      cleanup();
      reject(clientLeft());
    };
    request.on("data", onData);
    request.on("end", onEnd);
    request.on("error", onError);
    request.on("close", onClose);
  });
}

function clientLeft(): LlmuxError {
  return new LlmuxError({
    kind: "aborted",
    message: "The client closed the connection while sending the body",
  });
}

/** Deeper bodies are refused (400): later recursive steps (serialising, copying) would overflow the stack. */
const MAX_NESTING_DEPTH = 256;

/**
 * Whether objects/arrays nest deeper than `limit`. Recursive but never deeper than `limit` frames
 * (it answers as soon as `depth` passes it), so any body is measured safely, with no allocation.
 */
function nestingDepthExceeds(value: object, limit: number, depth = 1): boolean {
  if (depth > limit) return true;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const item: unknown = value[index];
      if (item !== null && typeof item === "object" && nestingDepthExceeds(item, limit, depth + 1))
        return true;
    }
    return false;
  }
  for (const key in value as Record<string, unknown>) {
    const item = (value as Record<string, unknown>)[key];
    if (item !== null && typeof item === "object" && nestingDepthExceeds(item, limit, depth + 1)) return true;
  }
  return false;
}

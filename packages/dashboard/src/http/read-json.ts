import type { IncomingMessage } from "node:http";

const LIMIT = 64 * 1024;

/**
 * The JSON body of a key-management request: the host's parsed body when a parser already ran,
 * else read here (at most 64 kB). Errors carry an HTTP `status`.
 */
export async function readJson(
  request: IncomingMessage,
  parsedBody: unknown,
): Promise<Record<string, unknown>> {
  if (parsedBody && typeof parsedBody === "object" && !Buffer.isBuffer(parsedBody)) {
    return parsedBody as Record<string, unknown>;
  }
  if (request.readableEnded) return {};
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > LIMIT) throw Object.assign(new Error("The request body is too large"), { status: 413 });
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text.length === 0) return {};
  try {
    const value = JSON.parse(text) as unknown;
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // answered below
  }
  throw Object.assign(new Error("The request body must be a JSON object"), { status: 400 });
}

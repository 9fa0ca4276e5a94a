import type { IncomingMessage, ServerResponse } from "node:http";
import { isCallRejection, type PluginRoute } from "@llmux/callbacks";

/** A management-API error in LiteLLM's body shape: {"error":{"message","type","param","code"}}. */
export class ApiError extends Error {
  readonly kind = "control_api_error" as const;
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null) =>
  new ApiError(400, message, "bad_request_error", param);
export const notFound = (message: string, param: string | null = null) =>
  new ApiError(404, message, "not_found_error", param);

export interface RouteRequest {
  body: Record<string, unknown>;
  query: URLSearchParams;
  request: IncomingMessage;
  /** Path parameters (e.g. /key/{key}/regenerate). */
  params: Record<string, string>;
}

export type RouteHandler = (input: RouteRequest) => Promise<unknown>;

export interface RouteKit {
  /** Throws a 401 unless the request carries the master key or an admin key. */
  requireAdmin(request: IncomingMessage, access: unknown): Promise<void>;
  /** Turns a database failure into 503 (the database is away), other errors pass. */
  onError(error: unknown): ApiError | undefined;
}

const MAX_BODY_BYTES = 1_000_000;

/** An admin route of the management API: auth first, then the body, then the handler's JSON answer. */
export function adminRoute(
  kit: RouteKit,
  method: "GET" | "POST",
  path: string,
  handler: RouteHandler,
): PluginRoute {
  return {
    method,
    path,
    auth: "admin",
    async handle(request: IncomingMessage, response: ServerResponse, parsedBody?: unknown, access?: unknown) {
      try {
        await kit.requireAdmin(request, access);
        const body = method === "POST" ? await readBody(request, parsedBody) : {};
        const url = new URL(request.url ?? "/", "http://localhost");
        const result = await handler({ body, query: url.searchParams, request, params: {} });
        send(response, 200, result);
      } catch (error) {
        const known = error instanceof ApiError ? error : kit.onError(error);
        if (known) {
          send(response, known.status, {
            error: {
              message: known.message,
              type: known.type,
              param: known.param,
              code: String(known.status),
            },
          });
          return;
        }
        if (isCallRejection(error)) {
          const rejection = error as unknown as { status: number; message: string; errorType?: string };
          send(response, rejection.status, {
            error: {
              message: rejection.message,
              type: rejection.errorType ?? "auth_error",
              param: null,
              code: String(rejection.status),
            },
          });
          return;
        }
        send(response, 500, {
          error: {
            message: "Internal error in the control plane",
            type: "internal_server_error",
            param: null,
            code: "500",
          },
        });
      }
    },
  } as PluginRoute;
}

function send(response: ServerResponse, status: number, body: unknown): void {
  if (response.headersSent) {
    response.end();
    return;
  }
  const text = JSON.stringify(body ?? null);
  response.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
  });
  response.end(text);
}

async function readBody(request: IncomingMessage, parsed: unknown): Promise<Record<string, unknown>> {
  if (parsed !== undefined && parsed !== null && !Buffer.isBuffer(parsed) && typeof parsed !== "string") {
    if (typeof parsed !== "object" || Array.isArray(parsed))
      throw badRequest("The body must be a JSON object");
    return parsed as Record<string, unknown>;
  }
  let text: string;
  if (typeof parsed === "string") text = parsed;
  else if (Buffer.isBuffer(parsed)) text = parsed.toString("utf8");
  else {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) throw new ApiError(413, "The body is too large", "bad_request_error");
      chunks.push(chunk as Buffer);
    }
    text = Buffer.concat(chunks).toString("utf8");
  }
  if (text.trim() === "") return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw badRequest("The body is not valid JSON");
  }
  if (!value || typeof value !== "object" || Array.isArray(value))
    throw badRequest("The body must be a JSON object");
  return value as Record<string, unknown>;
}

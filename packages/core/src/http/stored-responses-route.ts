import type { IncomingMessage, ServerResponse } from "node:http";
import type { StoredResponseRecord } from "@llmux/callbacks";
import { LlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { type Caller, ownerOf } from "../responses-format/response-storage";
import type { ResponseItem } from "../responses-format/types";
import type { Access } from "./authenticate";
import { json } from "./create-handler";
import { normaliseRoutePath } from "./route-table";

/**
 * The stored side of OpenAI's Responses API, for responses this gateway answered and kept (not
 * `store: false`, not expired), whichever deployment answered them:
 *
 * - `GET /v1/responses/{id}`: the Response object as the client received it.
 * - `DELETE /v1/responses/{id}`: `{"id", "object": "response", "deleted": true}`.
 * - `GET /v1/responses/{id}/input_items?limit&order&after`: OpenAI's list of the call's input items.
 *
 * A response belongs to the API key that created it: another key gets the same 404 as an unknown id
 * (the master key sees all). Unknown ids get OpenAI's 404 shape.
 *
 * @example
 * curl localhost:4000/v1/responses/resp_123 -H "Authorization: Bearer $KEY"
 * curl -X DELETE localhost:4000/v1/responses/resp_123 -H "Authorization: Bearer $KEY"
 */
export async function storedResponseRoute(
  gateway: Gateway,
  request: IncomingMessage,
  response: ServerResponse,
  access: Access,
): Promise<void> {
  const path = normaliseRoutePath(request.url ?? "/");
  const segments = path.split("/");
  const id = decodeURIComponent(segments[2] ?? "");
  const caller: Caller = { owner: ownerOf(request), admin: access.admin === true };
  if (request.method === "DELETE") {
    if (!(await gateway.storedResponses.delete(id, caller))) throw notFound(id);
    return json(response, 200, { id, object: "response", deleted: true });
  }
  const stored = await gateway.storedResponses.get(id, caller);
  if (!stored) throw notFound(id);
  if (segments[3] === "input_items") return json(response, 200, inputItemsPage(stored, request.url ?? "/"));
  json(response, 200, stored.response);
}

/** OpenAI's list shape, newest first unless `order=asc`, `limit` 1-100 (default 20), `after` an item id. */
function inputItemsPage(stored: StoredResponseRecord, url: string): Record<string, unknown> {
  const query = new URL(url, "http://localhost").searchParams;
  const order = query.get("order") ?? "desc";
  if (order !== "asc" && order !== "desc") throw invalid("'order' must be 'asc' or 'desc'", "order");
  const limitText = query.get("limit");
  const limit = limitText === null ? 20 : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100)
    throw invalid("'limit' must be an integer from 1 to 100", "limit");
  const all = withIds(stored.input as ResponseItem[], stored.id);
  if (order === "desc") all.reverse();
  const after = query.get("after");
  let start = 0;
  if (after !== null) {
    const index = all.findIndex((item) => item.id === after);
    if (index === -1) throw invalid(`No input item with id '${after}' in response '${stored.id}'`, "after");
    start = index + 1;
  }
  const data = all.slice(start, start + limit);
  return {
    object: "list",
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: start + limit < all.length,
  };
}

/**
 * Input items as OpenAI lists them: each with an id (kept when the client gave one, else derived
 * from the response id and position, so pages are stable), message text as content parts.
 */
function withIds(items: ResponseItem[], responseId: string): Array<ResponseItem & { id: string }> {
  const suffix = responseId.replace(/^resp_/, "");
  return items.map((item, index) => {
    const type = item.type ?? "message";
    const id =
      typeof item.id === "string" ? item.id : `${type === "message" ? "msg" : "item"}_${suffix}_${index}`;
    if (type !== "message") return { ...item, id };
    const role = String(item.role ?? "user");
    const content =
      typeof item.content === "string"
        ? [
            role === "assistant"
              ? { type: "output_text", text: item.content, annotations: [] }
              : { type: "input_text", text: item.content },
          ]
        : item.content;
    return { ...item, type: "message", id, role, content, status: item.status ?? "completed" };
  });
}

function notFound(id: string): LlmuxError {
  return new LlmuxError({
    kind: "not_found",
    message: `Response with id '${id}' not found.`,
    code: "response_not_found",
  });
}

function invalid(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "invalid_request_error" });
}

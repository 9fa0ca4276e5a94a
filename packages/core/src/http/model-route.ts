import type { IncomingMessage, ServerResponse } from "node:http";
import { LlmuxError } from "../errors/llmux-error";
import type { Gateway } from "../gateway/create-gateway";
import { modelAllowed } from "../gateway/model-access";
import type { Access } from "./authenticate";
import { json } from "./create-handler";
import { normaliseRoutePath } from "./route-table";

/**
 * GET /v1/models/{id}: one model group (or alias, or a name a wildcard group serves) the caller may
 * use, in OpenAI's model shape; anything else is OpenAI's 404 `model_not_found`.
 */
export async function modelRoute(
  gateway: Gateway,
  request: IncomingMessage,
  response: ServerResponse,
  access: Access,
): Promise<void> {
  const path = normaliseRoutePath(request.url ?? "/");
  const id = decodeURIComponent(path.slice("/models/".length));
  const allowed = modelAllowed(access.allowedModels, id);
  const listed = gateway.models(access.allowedModels).find((model) => model.id === id);
  if (listed) return json(response, 200, listed);
  if (allowed && gateway.router.resolveGroup(id)) {
    return json(response, 200, {
      id,
      object: "model",
      created: Math.floor(Date.now() / 1000),
      owned_by: "llmux",
    });
  }
  throw new LlmuxError({
    kind: "not_found",
    message: `The model '${id}' does not exist or you do not have access to it.`,
    param: "model",
    code: "model_not_found",
  });
}

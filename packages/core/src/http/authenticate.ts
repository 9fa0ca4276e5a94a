import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { CallContext } from "@llmux/callbacks";
import { isLlmuxError, LlmuxError } from "../errors/llmux-error";
import type { AuthorizeResult, GatewayOptions } from "../gateway/types";

export interface Access {
  context?: Partial<CallContext>;
  allowedModels?: string[];
}

/**
 * Access control: the master key (Authorization: Bearer or x-api-key) and/or the host's authorize
 * hook. With both, either one admits the caller. With neither, the gateway is open.
 */
export async function authenticate(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
): Promise<Access> {
  if (!masterKey && !authorize) return {};
  if (masterKey) {
    const presented = presentedKey(request);
    if (presented !== undefined && safeEqual(presented, masterKey)) return {};
    if (!authorize) {
      throw new LlmuxError({
        kind: "authentication",
        message:
          presented === undefined
            ? "Missing API key: send Authorization: Bearer <key> or x-api-key"
            : "Invalid API key",
        code: "invalid_api_key",
      });
    }
  }
  let result: AuthorizeResult;
  try {
    result = await authorize!(request);
  } catch (error) {
    if (isLlmuxError(error)) throw error;
    throw new LlmuxError({ kind: "authentication", message: "Unauthorized", code: "unauthorized" });
  }
  if (result === false)
    throw new LlmuxError({ kind: "authentication", message: "Unauthorized", code: "unauthorized" });
  if (result === true) return {};
  const access: Access = { context: result };
  if (result.allowedModels) access.allowedModels = result.allowedModels;
  return access;
}

function presentedKey(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string" && header.toLowerCase().startsWith("bearer ")) return header.slice(7).trim();
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string") return apiKey;
  return undefined;
}

function safeEqual(presented: string, expected: string): boolean {
  const left = Buffer.from(presented);
  const right = Buffer.from(expected);
  return left.length === right.length && timingSafeEqual(left, right);
}

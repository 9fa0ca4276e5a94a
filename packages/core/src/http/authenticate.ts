import { hash, timingSafeEqual } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { LlmuxPlugin, PluginAccess, RouteAccess, RouteAuth } from "@llmux/callbacks";
import { isLlmuxError, LlmuxError } from "../errors/llmux-error";
import { isThenable } from "../gateway/is-thenable";
import type { AuthorizeResult, GatewayOptions } from "../gateway/types";

/** What authentication resolved for a request (the 4th argument of a route's `handle`). */
export type Access = RouteAccess;

/**
 * Access control: the master key (Authorization: Bearer or x-api-key), the virtual keys of plugins
 * (`LlmuxPlugin.authenticate`, e.g. @llmux/control: a key it recognises admits the caller, with its
 * context, models and admin role) and/or the host's authorize hook. Any one admits the caller. With neither, the gateway is open. Only the
 * request's headers are read: the body is never touched here, so an unauthenticated client cannot
 * make the gateway read it.
 *
 * `level` "admin" admits only the master key (or an authorize result with `admin: true`) when a
 * master key is configured; without one it is the same check as "caller".
 */
export async function authenticate(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
  level: RouteAuth = "caller",
  plugins: readonly LlmuxPlugin[] = [],
): Promise<Access> {
  return resolveAccess(request, masterKey, authorize, level, plugins);
}

/**
 * `authenticate` without a promise when the answer needs no wait (the master key presented, an open
 * gateway, a refusal: thrown); a promise when a plugin or the authorize hook decides. The presented
 * key is hashed once: the digest is compared with the master key's and its hex handed to plugins
 * (`keyHash`), which look virtual keys up by it.
 */
export function resolveAccess(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
  level: RouteAuth,
  plugins: readonly LlmuxPlugin[],
): Access | Promise<Access> {
  if (level === "public") return {};
  const presented = presentedKey(request);
  let pluginsAuthenticate = false;
  if (presented !== undefined)
    for (const plugin of plugins) if (plugin.authenticate) pluginsAuthenticate = true;
  const presentedDigest =
    presented !== undefined && (masterKey || pluginsAuthenticate) ? digest(presented) : undefined;
  if (masterKey && presentedDigest && timingSafeEqual(presentedDigest, expectedDigestOf(masterKey)))
    return { admin: true };
  if (pluginsAuthenticate)
    return pluginAccess(
      request,
      masterKey,
      authorize,
      level,
      plugins,
      presented!,
      presentedDigest!.toString("hex"),
    );
  return fallbackAccess(request, masterKey, authorize, level, presented);
}

/**
 * The plugins' virtual keys (the first that recognises the key wins, asked from `from` on), then the
 * rest of the checks. Synchronous while the plugins answer synchronously (@llmux/control does for a
 * cached key): a virtual key then costs no promise and no microtask, as the master key does not. A
 * plugin that answers with a promise: the plugins after it are asked once it settles.
 */
function pluginAccess(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
  level: RouteAuth,
  plugins: readonly LlmuxPlugin[],
  presented: string,
  keyHash: string,
  from = 0,
): Access | Promise<Access> {
  for (let index = from; index < plugins.length; index++) {
    const plugin = plugins[index]!;
    if (!plugin.authenticate) continue;
    const found = plugin.authenticate(presented, request, keyHash);
    if (isThenable<PluginAccess | undefined>(found)) {
      return Promise.resolve(found).then((answer) =>
        answer
          ? admitted(answer, masterKey, authorize, level)
          : pluginAccess(request, masterKey, authorize, level, plugins, presented, keyHash, index + 1),
      );
    }
    if (found) return admitted(found, masterKey, authorize, level);
  }
  return fallbackAccess(request, masterKey, authorize, level, presented);
}

/** The access of a key a plugin recognised (its context, models and admin role). */
function admitted(
  found: PluginAccess,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
  level: RouteAuth,
): Access {
  const access: Access = { pluginAccess: found };
  if (found.context) access.context = found.context;
  if (found.allowedModels) access.allowedModels = found.allowedModels;
  // An open gateway (no master key, no authorize hook) makes everyone admin, virtual keys included.
  if (found.admin || (!masterKey && !authorize)) access.admin = true;
  if (level === "admin" && access.admin !== true) {
    throw new LlmuxError({
      kind: "authentication",
      message: "This route needs the master key (or an admin key)",
      code: "admin_required",
    });
  }
  return access;
}

/** No master key or virtual key admitted the caller: an open gateway, a refusal, or the authorize hook. */
function fallbackAccess(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: GatewayOptions["authorize"],
  level: RouteAuth,
  presented: string | undefined,
): Access | Promise<Access> {
  if (!masterKey && !authorize) return { admin: true };
  if (masterKey) {
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
  return authorizedAccess(request, masterKey, authorize!, level);
}

/** The host's authorize hook decides. */
async function authorizedAccess(
  request: IncomingMessage,
  masterKey: string | undefined,
  authorize: NonNullable<GatewayOptions["authorize"]>,
  level: RouteAuth,
): Promise<Access> {
  let result: AuthorizeResult;
  try {
    result = await authorize(request);
  } catch (error) {
    if (isLlmuxError(error)) throw error;
    throw new LlmuxError({ kind: "authentication", message: "Unauthorized", code: "unauthorized" });
  }
  if (result === false)
    throw new LlmuxError({ kind: "authentication", message: "Unauthorized", code: "unauthorized" });
  const access: Access = {};
  if (result !== true) {
    const { allowedModels, admin, ...context } = result;
    access.context = context;
    if (allowedModels) access.allowedModels = allowedModels;
    if (admin === true) access.admin = true;
  }
  // Without a master key the host's authorize hook is the only authority: it decides admin routes too.
  if (!masterKey && result === true) access.admin = true;
  if (level === "admin" && masterKey && access.admin !== true) {
    throw new LlmuxError({
      kind: "authentication",
      message: "This route needs the master key (or an admin key)",
      code: "admin_required",
    });
  }
  return access;
}

function presentedKey(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === "string" && header.toLowerCase().startsWith("bearer ")) return header.slice(7).trim();
  const apiKey = request.headers["x-api-key"];
  if (typeof apiKey === "string") return apiKey;
  return undefined;
}

function digest(value: string): Buffer {
  return hash("sha256", value, "buffer");
}

/** The configured key's digest, computed once per key (it is hashed on every call otherwise). */
let expectedKey: string | undefined;
let expectedDigest: Buffer | undefined;

function expectedDigestOf(expected: string): Buffer {
  if (expectedKey !== expected || expectedDigest === undefined) {
    expectedDigest = digest(expected);
    expectedKey = expected;
  }
  return expectedDigest;
}

/**
 * Constant-time in the key's content and length: both sides are SHA-256 digests (32 bytes each), so
 * neither an early length mismatch nor the compare itself tells a client anything about the key.
 */
export function keyMatches(presented: string, expected: string): boolean {
  return timingSafeEqual(digest(presented), expectedDigestOf(expected));
}

/**
 * The gateway's own key check for a host route (e.g. one that calls the in-process API): the master
 * key or the `authorize` hook, as on /v1/chat/completions. Resolves to the access, or rejects with a
 * 401 LlmuxError. Reads only the headers.
 */
export function authenticateRequest(
  gateway: { config: { masterKey?: string | undefined }; options: Pick<GatewayOptions, "authorize"> },
  request: IncomingMessage,
): Promise<Access> {
  return authenticate(request, gateway.config.masterKey, gateway.options.authorize);
}

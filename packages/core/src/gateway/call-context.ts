import type { IncomingMessage } from "node:http";
import type { CallContext } from "@llmux/callbacks";

const CONTEXT_KEYS = new Set([
  "session_id",
  "trace_id",
  "trace_name",
  "generation_name",
  "tags",
  "user_id",
  "team_id",
]);

/** The metadata of a body without one. */
const NONE: Record<string, unknown> = Object.freeze({}) as Record<string, unknown>;

/** Metadata keys a client may not set: they describe the authenticated key (LiteLLM's names). */
const GATEWAY_METADATA_PREFIX = "user_api_key_";

/**
 * Who and what a call belongs to: OpenAI's `user`, the `metadata` object, the x-llmux-session-id and
 * x-llmux-tags headers, and what the host's resolveContext/authorize hooks return (those win).
 */
export function buildCallContext(
  body: Record<string, unknown>,
  headers: IncomingMessage["headers"],
  fromHost: Partial<CallContext> | undefined,
): CallContext & { traceId?: string } {
  const metadataInput =
    body.metadata && typeof body.metadata === "object" ? (body.metadata as Record<string, unknown>) : NONE;
  // a fresh object per call (hooks may add to it)
  const metadata: Record<string, unknown> = {};
  if (metadataInput !== NONE) {
    for (const key in metadataInput) {
      if (!Object.hasOwn(metadataInput, key)) continue;
      // user_api_key_* describe the authenticated key (alias, hash, spend, budgets: LiteLLM's metric labels
      // and budget gauges); only the gateway's authentication (the control plane, a host hook) sets them.
      if (!CONTEXT_KEYS.has(key) && !key.startsWith(GATEWAY_METADATA_PREFIX))
        metadata[key] = metadataInput[key];
    }
  }
  const headerTags = headers["x-llmux-tags"];
  const hostTags = fromHost?.tags;
  let tags: string[];
  if (
    Array.isArray(metadataInput.tags) ||
    typeof headerTags === "string" ||
    (hostTags && hostTags.length > 0)
  ) {
    const unique = new Set<string>();
    if (Array.isArray(metadataInput.tags))
      for (const tag of metadataInput.tags) if (typeof tag === "string") unique.add(tag);
    if (typeof headerTags === "string")
      for (const tag of headerTags.split(",")) if (tag.trim()) unique.add(tag.trim());
    for (const tag of hostTags ?? []) unique.add(tag);
    tags = [...unique];
  } else tags = [];

  const hostMetadata = fromHost?.metadata;
  if (hostMetadata)
    for (const key in hostMetadata) if (Object.hasOwn(hostMetadata, key)) metadata[key] = hostMetadata[key];
  const context: CallContext & { traceId?: string } = { tags, metadata };
  const user = fromHost?.user ?? stringOr(body.user) ?? stringOr(metadataInput.user_id);
  const team = fromHost?.team ?? stringOr(metadataInput.team_id);
  const session =
    fromHost?.session ?? stringOr(metadataInput.session_id) ?? stringOr(headers["x-llmux-session-id"]);
  const traceName = fromHost?.traceName ?? stringOr(metadataInput.trace_name);
  const generationName = fromHost?.generationName ?? stringOr(metadataInput.generation_name);
  const traceId = stringOr(metadataInput.trace_id);
  if (user) context.user = user;
  if (team) context.team = team;
  if (session) context.session = session;
  if (traceName) context.traceName = traceName;
  if (generationName) context.generationName = generationName;
  if (traceId) context.traceId = traceId;
  return context;
}

function stringOr(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value.slice(0, 256) : undefined;
}

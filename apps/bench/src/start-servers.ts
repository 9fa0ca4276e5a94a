/** Starts the upstream child and the servers under test, each in its own process. */
import { join } from "node:path";
import { type ChildServerHandle, ChildStartError, spawnServer } from "./child-server";
import type { TargetDefinition } from "./types";

export interface StartedTarget {
  definition: TargetDefinition;
  server?: ChildServerHandle;
  url?: string;
  /** Extra request headers the server asked for (details.requestHeaders), sent on every call. */
  headers?: Record<string, string>;
  skipped?: string;
  failed?: string;
}

export function distPath(directory: string, script: string): string {
  return join(directory, script);
}

export async function startUpstream(directory: string): Promise<ChildServerHandle> {
  return spawnServer({
    name: "upstream (mock + OTLP receiver)",
    script: join(directory, "servers/upstream-server.js"),
  });
}

export async function startTarget(
  directory: string,
  definition: TargetDefinition,
  upstream: ChildServerHandle,
  nodeArgs: string[] = ["--expose-gc"],
): Promise<StartedTarget> {
  if (!definition.script) return { definition, url: upstream.url };
  try {
    const server = await spawnServer({
      name: definition.name,
      script: join(directory, definition.script),
      nodeArgs,
      startTimeoutMs: definition.startTimeoutMs,
      env: {
        ...definition.env,
        BENCH_UPSTREAM_URL: upstream.url,
        BENCH_TRACES_URL: `${String(upstream.details.receiverUrl)}/${definition.name}/v1/traces`,
      },
    });
    return { definition, server, url: server.url, headers: requestHeadersOf(server) };
  } catch (error) {
    if (error instanceof ChildStartError && error.skip) return { definition, skipped: error.message };
    return { definition, failed: String((error as Error).message ?? error) };
  }
}

/** The extra request headers a child server announced (details.requestHeaders), if any. */
export function requestHeadersOf(server: ChildServerHandle): Record<string, string> | undefined {
  const headers = server.details.requestHeaders;
  return headers && typeof headers === "object" ? (headers as Record<string, string>) : undefined;
}

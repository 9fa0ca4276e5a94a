import type { PluginRoute, RouteAuth } from "@llmux/callbacks";

/** How a route's errors are written (the caller's API format). */
export type ErrorFormat = "openai" | "anthropic";

/** A route in the table: the PluginRoute shape plus the resolved auth level and error format. */
export interface RouteEntry extends PluginRoute {
  auth: RouteAuth;
  format: ErrorFormat;
}

/**
 * Every route the gateway serves, built once: a Map keyed "METHOD /path" (path without "/v1") for
 * exact paths, and a short list for paths with "{param}" segments. Built-in routes are added first,
 * so a plugin cannot replace one; a duplicate is reported through `onDuplicate` and skipped.
 */
export class RouteTable {
  private readonly exact = new Map<string, RouteEntry>();
  private readonly patterns: Array<{ method: string; segments: string[]; entry: RouteEntry }> = [];

  constructor(private readonly onDuplicate: (key: string) => void = () => {}) {}

  add(route: PluginRoute, format: ErrorFormat = "openai"): void {
    const path = normaliseRoutePath(route.path);
    const key = `${route.method} ${path}`;
    // handle keeps its own `this` (the route object), as before the table.
    const entry: RouteEntry = {
      ...route,
      auth: route.auth ?? "caller",
      format,
      handle: route.handle.bind(route),
    };
    if (path.includes("{")) {
      if (this.patterns.some((pattern) => `${pattern.method} /${pattern.segments.join("/")}` === key)) {
        this.onDuplicate(key);
        return;
      }
      this.patterns.push({ method: route.method, segments: path.split("/").slice(1), entry });
      return;
    }
    if (this.exact.has(key)) {
      this.onDuplicate(key);
      return;
    }
    this.exact.set(key, entry);
  }

  /** The route for a method and a normalised request path, or undefined. */
  find(method: string, path: string): RouteEntry | undefined {
    const found = this.exact.get(`${method} ${path}`);
    if (found || this.patterns.length === 0) return found;
    const segments = path.split("/").slice(1);
    for (const pattern of this.patterns) {
      if (pattern.method !== method || pattern.segments.length !== segments.length) continue;
      if (
        pattern.segments.every(
          (segment, index) =>
            (segment.startsWith("{") && segments[index]!.length > 0) || segment === segments[index],
        )
      )
        return pattern.entry;
    }
    return undefined;
  }

  /** Every route, in the order added. */
  entries(): RouteEntry[] {
    return [...this.exact.values(), ...this.patterns.map((pattern) => pattern.entry)];
  }
}

/** A request path without its query, its "/v1" prefix and a trailing slash. */
export function normaliseRoutePath(url: string): string {
  const query = url.indexOf("?");
  let path = query === -1 ? url : url.slice(0, query);
  if (path.startsWith("/v1/")) path = path.slice(3);
  if (path.length > 1 && path.endsWith("/")) path = path.slice(0, -1);
  return path;
}

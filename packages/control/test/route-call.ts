import { IncomingMessage, ServerResponse } from "node:http";
import { Socket } from "node:net";
import type { RouteAccess } from "@llmux/callbacks";
import type { ControlPlane } from "../src/index";

/**
 * One management route of the plane called directly, without a gateway or a socket (the route's JSON
 * answer is caught where it is written): for tests that must interleave a route with the plane's own
 * timing (a spend batch not yet written, a store that fails on cue).
 */
export async function callRoute(
  plane: ControlPlane,
  method: "GET" | "POST",
  pathAndQuery: string,
  body?: unknown,
  access: RouteAccess = { admin: true },
): Promise<{ status: number; body: unknown }> {
  const path = pathAndQuery.split("?")[0];
  const route = plane.routes!.find((candidate) => candidate.method === method && candidate.path === path);
  if (!route) throw new Error(`the plane has no route ${method} ${path}`);
  const incoming = new IncomingMessage(new Socket());
  incoming.method = method;
  incoming.url = pathAndQuery;
  const response = new ServerResponse(incoming);
  let text = "";
  response.end = ((chunk?: unknown) => {
    if (typeof chunk === "string") text += chunk;
    return response;
  }) as typeof response.end;
  await route.handle(incoming, response, body, access);
  return { status: response.statusCode, body: text ? JSON.parse(text) : undefined };
}

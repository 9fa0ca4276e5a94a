import { expressServer } from "./express-server";
import { koaServer } from "./koa-server";
import { nestServer } from "./nest-server";
import type { Framework } from "./types";

/** The host frameworks every adapter conformance test runs against. */
export const frameworks: Framework[] = [
  { name: "Express 4", start: expressServer(4) },
  { name: "Express 5", start: expressServer(5) },
  { name: "Koa 2", start: koaServer(2) },
  { name: "Koa 3", start: koaServer(3) },
  { name: "Nest on Express", start: nestServer("express") },
  { name: "Nest on Fastify", start: nestServer("fastify") },
];

export type { ConformanceServer, Framework, ServerSettings, StartServer } from "./types";

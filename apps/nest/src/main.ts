import "reflect-metadata";
import { serveFromEnvironment } from "@llmux/core";

// LLMUX_CONFIG, PORT, HOST, NEST_PLATFORM (express | fastify); tracing is set up before Nest is
// imported (inside start).
await serveFromEnvironment({
  name: `reference-nest-app (${process.env.NEST_PLATFORM ?? "express"} platform)`,
  start: async (options) => {
    const { startReferenceApp } = await import("./app.js");
    return startReferenceApp(options);
  },
});

import { serveFromEnvironment } from "@llmux/core";

// LLMUX_CONFIG, PORT, HOST; tracing is set up before Express is imported (inside start).
await serveFromEnvironment({
  name: "reference-express-app",
  start: async (options) => {
    const { startReferenceApp } = await import("./app.js");
    return startReferenceApp(options);
  },
});

import type { Gateway, GatewayOptions } from "@llmux/core";
import type { FactoryProvider, ModuleMetadata } from "@nestjs/common";

/** Where the gateway is served on the Nest HTTP server (Express or Fastify platform). */
export interface LlmuxMountOptions {
  /** Path of the OpenAI-format API from the server root (a global prefix is not added). Default "/v1". */
  path?: string;
  /** Exact root paths also served. Default `gateway.rootPaths()`: health and plugin routes such as /metrics. */
  rootPaths?: string[];
  /**
   * Serve the built-in dashboard (needs @llmux/dashboard) at this path from the server root, e.g.
   * "/llmux" (the page at /llmux/). Off by default. See docs/dashboard.md.
   */
  dashboardPath?: string;
}

/** Gateway options (config, hooks, plugins…) or an existing gateway, plus where to serve it. */
export type LlmuxModuleOptions = (GatewayOptions | { gateway: Gateway }) & LlmuxMountOptions;

export interface LlmuxModuleAsyncOptions extends Pick<ModuleMetadata, "imports"> {
  useFactory: FactoryProvider<LlmuxModuleOptions | Promise<LlmuxModuleOptions>>["useFactory"];
  inject?: FactoryProvider["inject"];
}

/** Injection token of the module options. */
export const LLMUX_OPTIONS = Symbol.for("llmux.nestjs.options");

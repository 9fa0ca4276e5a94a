/**
 * @llmux/nestjs: the llmux gateway as a Nest module (Express and Fastify platforms) and an injectable
 * service for in-process calls.
 */
export { LlmuxModule } from "./llmux-module";
export { LlmuxService } from "./llmux-service";
export type { LlmuxModuleAsyncOptions, LlmuxModuleOptions, LlmuxMountOptions } from "./types";
export { LLMUX_OPTIONS } from "./types";

/** @llmux/nestjs: the gateway as a Nest module (Express and Fastify) and an injectable service. */
export { LlmuxModule } from "./llmux-module";
export { LlmuxService } from "./llmux-service";
export type { LlmuxModuleAsyncOptions, LlmuxModuleOptions, LlmuxMountOptions } from "./types";
export { LLMUX_OPTIONS } from "./types";

/**
 * llmux: the `llmux` command as a library — `startServer` (the standalone node:http server),
 * `checkConfig` (what `llmux check` reports) and `runCli`.
 */
export { runCli, USAGE } from "./cli-main";
export { type CheckReport, checkConfig } from "./commands/check";
export { describeConfig } from "./config-summary";
export { startServer } from "./start-server";
export type { CliIo, Command, LlmuxServer, StartServerOptions } from "./types";
export { VERSION } from "./version";

#!/usr/bin/env node
// Entry point of the `llmux-mock` command.
import { runCli } from "./cli-main.js";

runCli(process.argv.slice(2)).catch((error: unknown) => {
  console.error(`llmux-mock: ${error instanceof Error ? error.message : String(error)}`);
  process.exitCode = 1;
});

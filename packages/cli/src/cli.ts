#!/usr/bin/env node
// Entry point of the `llmux` command.
import { runCli } from "./cli-main.js";

runCli(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`llmux: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  },
);

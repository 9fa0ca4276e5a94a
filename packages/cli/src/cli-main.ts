/**
 * The `llmux` command: dispatch to `serve` (the default) or `check`, `--version`, `--help`
 * (src/cli.ts is only the entry point). Every command gets `io` so tests can capture its output.
 */
import { CHECK_USAGE, checkCommand } from "./commands/check";
import { SERVE_USAGE, serveCommand } from "./commands/serve";
import type { CliIo, Command } from "./types";
import { VERSION } from "./version";

export const USAGE = `llmux ${VERSION}: an embeddable LLM gateway (LiteLLM config compatible)

${SERVE_USAGE}

${CHECK_USAGE}

  llmux --version   prints the version
  llmux --help      this text

Docs: docs/cli.md (flags compared with litellm's), docs/configuration.md.`;

const COMMANDS: Record<string, Command> = { serve: serveCommand, check: checkCommand };

/**
 * Runs the command line; resolves to the exit code, or -1 while a server keeps running. Throws
 * nothing: bad arguments print a readable error and the usage and resolve to 2.
 */
export async function runCli(argv: string[], io: CliIo = processIo()): Promise<number> {
  if (argv.includes("--version") || argv.includes("-v")) {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const first = argv[0];
  const command = first !== undefined && !first.startsWith("-") ? COMMANDS[first] : serveCommand;
  if (!command) {
    io.stderr(`llmux: unknown command '${first}' (commands: serve, check)\n\n${USAGE}\n`);
    return 2;
  }
  const args =
    command === serveCommand && first === "serve"
      ? argv.slice(1)
      : command === serveCommand
        ? argv
        : argv.slice(1);
  if (args.includes("--help") || args.includes("-h")) {
    io.stdout(`${command === serveCommand && first !== "serve" ? USAGE : command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    io.stderr(`llmux ${command.name}: ${(error as Error).message}\n\n${command.usage}\n`);
    return 2;
  }
}

export function processIo(): CliIo {
  return {
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
    env: process.env,
  };
}

/**
 * The `llmux-mock` command: argument parsing and the run loop (src/cli.ts is only the entry point).
 */
import { parseArgs } from "node:util";
import { startMockProvider } from "./mock-provider.js";
import type { MockProvider, MockProviderOptions } from "./types.js";

export const USAGE = `Usage: llmux-mock [--port 8787] [--host 127.0.0.1] [--words 12] [--chunk-delay-ms 0]

Runs the llmux mock provider (OpenAI, Azure OpenAI, Anthropic, Ollama and Bedrock shapes, fault injection).
Prints its URL on stdout. Stop it with Ctrl-C (SIGINT) or SIGTERM.

  --port             TCP port (default 8787; 0 picks a free one)
  --host             interface to listen on (default 127.0.0.1)
  --words            words in the default reply (default 12)
  --chunk-delay-ms   delay between stream chunks (default 0)
  --help             this text`;

/** Parses the command line; throws an Error with a readable message on bad input. */
export function parseCliOptions(argv: string[]): MockProviderOptions & { help: boolean } {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      words: { type: "string" },
      "chunk-delay-ms": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  return {
    help: values.help === true,
    port: integer("--port", values.port, 8787, 0, 65535),
    host: values.host ?? "127.0.0.1",
    words: integer("--words", values.words, 12, 0, 100_000),
    chunkDelayMs: integer("--chunk-delay-ms", values["chunk-delay-ms"], 0, 0, 3_600_000),
  };
}

function integer(flag: string, text: string | undefined, fallback: number, min: number, max: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${flag} must be an integer from ${min} to ${max}, got "${text}"`);
  }
  return value;
}

/** Starts the server for the given arguments, prints its URL, and closes it on SIGINT / SIGTERM. */
export async function runCli(
  argv: string[],
  output: { log(line: string): void; error(line: string): void } = console,
): Promise<MockProvider | undefined> {
  let options: ReturnType<typeof parseCliOptions>;
  try {
    options = parseCliOptions(argv);
  } catch (error) {
    output.error(`llmux-mock: ${(error as Error).message}\n\n${USAGE}`);
    process.exitCode = 2;
    return undefined;
  }
  if (options.help) {
    output.log(USAGE);
    return undefined;
  }
  const { help: _help, ...serverOptions } = options;
  // Nothing can read the recorded requests of a CLI server: keep memory flat for long benchmark runs.
  const provider = await startMockProvider({ ...serverOptions, recordRequests: false });
  output.log(provider.url);
  const stop = () => {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    void provider.close();
  };
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return provider;
}

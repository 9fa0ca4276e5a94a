/** What a command writes to and reads from; passed in so tests can capture it. */
export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Record<string, string | undefined>;
}

/** One `llmux <name>` command. `run` resolves to the process exit code. */
export interface Command {
  name: string;
  usage: string;
  run(args: string[], io: CliIo): Promise<number>;
}

/** A running standalone server (see startServer). */
export interface LlmuxServer {
  /** e.g. "http://127.0.0.1:4000" */
  readonly url: string;
  readonly port: number;
  /**
   * Stops accepting, finishes in-flight calls, flushes and shuts the gateway down; with a plan,
   * streams past `graceMs` end in-band and the flush stops at `deadline` (see closeGracefully).
   */
  close(plan?: import("@llmux/core").ShutdownPlan): Promise<void>;
}

export interface StartServerOptions {
  /** Path of the LiteLLM-style YAML config. */
  config: string;
  port?: number;
  host?: string;
  env?: Record<string, string | undefined>;
  /** Log level of the gateway's stderr logger (debug with --detailed_debug). */
  logLevel?: "debug" | "info" | "warn" | "error" | "silent";
}

const BRAND = Symbol.for("llmux.config-error");

/** A start-up configuration error; `problems` lists every problem found, each naming its key. */
export class ConfigError extends Error {
  readonly [BRAND] = true;
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`Invalid llmux configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
    this.problems = problems;
  }
}

export function isConfigError(value: unknown): value is ConfigError {
  return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * Imports a package that may not exist yet (the Koa and Nest adapters and their frameworks are
 * written separately): resolves to undefined, with the reason, instead of throwing.
 */
export async function optionalImport(
  specifier: string,
): Promise<{ module?: Record<string, unknown>; reason?: string }> {
  try {
    // a variable specifier: neither TypeScript nor the bundler resolve it at build time
    const module = (await import(specifier)) as Record<string, unknown>;
    return { module };
  } catch (error) {
    return { reason: `${specifier} cannot be loaded (${(error as Error).message.split("\n")[0]})` };
  }
}

/** The first export of `module` among `names` that is a function. */
export function pickFunction<T extends (...args: never[]) => unknown>(
  module: Record<string, unknown> | undefined,
  names: string[],
): T | undefined {
  if (!module) return undefined;
  for (const name of names) {
    const candidate = module[name] ?? (module.default as Record<string, unknown> | undefined)?.[name];
    if (typeof candidate === "function") return candidate as T;
  }
  return undefined;
}

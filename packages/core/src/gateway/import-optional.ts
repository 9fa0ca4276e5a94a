/**
 * Imports an optional llmux package (@llmux/otel, @llmux/prometheus, @llmux/mlflow) at run time. The
 * specifier is a variable on purpose: the core neither bundles nor type-checks against those packages,
 * so it builds before them and works without them installed.
 */
export function importOptional<T>(specifier: string): Promise<T> {
  return import(/* @vite-ignore */ specifier) as Promise<T>;
}

/**
 * Replaces every `os.environ/NAME` string in the config with the variable's value. A missing
 * variable is collected as a problem naming the variable, the key and the model it belongs to.
 */
const PREFIX = "os.environ/";

export function resolveEnvironmentReferences(
  value: unknown,
  env: Record<string, string | undefined>,
  problems: string[],
  path: string[] = [],
  model?: string,
): unknown {
  if (typeof value === "string") {
    if (!value.startsWith(PREFIX)) return value;
    const name = value.slice(PREFIX.length);
    const resolved = env[name];
    if (resolved === undefined || resolved === "") {
      const where = model ? ` (model '${model}')` : "";
      problems.push(`${path.join(".")}${where}: environment variable ${name} is not set`);
      return undefined;
    }
    return resolved;
  }
  if (Array.isArray(value)) {
    return value.map((item, index) => {
      const itemModel = path.length === 1 && path[0] === "model_list" ? modelName(item) : model;
      return resolveEnvironmentReferences(
        item,
        env,
        problems,
        [...path.slice(0, -1), `${path.at(-1)}[${index}]`],
        itemModel,
      );
    });
  }
  if (value && typeof value === "object") {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      result[key] = resolveEnvironmentReferences(item, env, problems, [...path, key], model);
    }
    return result;
  }
  return value;
}

function modelName(item: unknown): string | undefined {
  if (item && typeof item === "object" && typeof (item as Record<string, unknown>).model_name === "string") {
    return (item as Record<string, unknown>).model_name as string;
  }
  return undefined;
}

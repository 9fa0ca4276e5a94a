import { durationMs } from "../duration";
import { badRequest } from "./route-kit";

/** Field readers that answer 400 naming the field. */
export function optionalString(body: Record<string, unknown>, name: string): string | null | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== "string" || value.length === 0 || value.length > 256)
    throw badRequest(`'${name}' must be a non-empty string of at most 256 characters`, name);
  return value;
}

export function requiredString(body: Record<string, unknown>, name: string): string {
  const value = optionalString(body, name);
  if (typeof value !== "string") throw badRequest(`'${name}' is required`, name);
  return value;
}

export function optionalNumber(
  body: Record<string, unknown>,
  name: string,
  options: { integer?: boolean } = {},
): number | null | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (
    typeof value !== "number" ||
    !Number.isFinite(value) ||
    value < 0 ||
    (options.integer && !Number.isInteger(value))
  ) {
    throw badRequest(
      `'${name}' must be a ${options.integer ? "non-negative integer" : "non-negative number"}`,
      name,
    );
  }
  return value;
}

export function optionalBoolean(body: Record<string, unknown>, name: string): boolean | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "boolean") throw badRequest(`'${name}' must be a boolean`, name);
  return value;
}

export function optionalStringList(body: Record<string, unknown>, name: string): string[] | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string"))
    throw badRequest(`'${name}' must be a list of strings`, name);
  return value as string[];
}

export function optionalObject(
  body: Record<string, unknown>,
  name: string,
): Record<string, unknown> | undefined {
  const value = body[name];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "object" || Array.isArray(value))
    throw badRequest(`'${name}' must be an object`, name);
  return value as Record<string, unknown>;
}

export function optionalDuration(body: Record<string, unknown>, name: string): string | null | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (value === null) return null;
  if (typeof value !== "string" || durationMs(value) === undefined)
    throw badRequest(`'${name}' must be a duration like "30s", "30m", "1h", "1d", "30d"`, name);
  return value;
}

/**
 * The budget and limit fields shared by keys, users and teams, validated; absent fields stay absent.
 * A new `budget_duration` starts a period now.
 */
export function budgetFields(body: Record<string, unknown>, now: number): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    models: optionalStringList(body, "models"),
    max_budget: optionalNumber(body, "max_budget"),
    soft_budget: optionalNumber(body, "soft_budget"),
    budget_duration: optionalDuration(body, "budget_duration"),
    rpm_limit: optionalNumber(body, "rpm_limit", { integer: true }),
    tpm_limit: optionalNumber(body, "tpm_limit", { integer: true }),
    max_parallel_requests: optionalNumber(body, "max_parallel_requests", { integer: true }),
    metadata: optionalObject(body, "metadata"),
  };
  if (typeof fields.budget_duration === "string")
    fields.budget_reset_at = new Date(now + durationMs(fields.budget_duration)!).toISOString();
  if (fields.budget_duration === null) fields.budget_reset_at = null;
  return fields;
}

export function pageOf(query: URLSearchParams, sizeName = "page_size"): { page: number; page_size: number } {
  const page = Number(query.get("page") ?? "1");
  const size = Number(query.get(sizeName) ?? query.get("size") ?? "50");
  if (!Number.isInteger(page) || page < 1) throw badRequest("'page' must be a positive integer", "page");
  if (!Number.isInteger(size) || size < 1 || size > 1000)
    throw badRequest(`'${sizeName}' must be an integer from 1 to 1000`, sizeName);
  return { page, page_size: size };
}

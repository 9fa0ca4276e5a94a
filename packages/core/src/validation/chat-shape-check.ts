/**
 * A quick check of a chat completion body against `chatRequestSchema`, without zod: true only when
 * the schema surely accepts the body (every field it checks has the type it asks for). Anything else
 * (a wrong type, a field this check does not know how to judge) answers false, and the schema then
 * decides and names the field. So the common, valid call skips zod's parse (and its copy of the body),
 * and every error is still zod's.
 */
export function chatBodySurelyValid(body: Record<string, unknown>): boolean {
  const model = body.model;
  if (typeof model !== "string" || model.length === 0) return false;
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0) return false;
  for (let index = 0; index < messages.length; index++) if (!messageValid(messages[index])) return false;
  return (
    nullishOr(body.stream, isBoolean) &&
    nullishOr(body.stream_options, isObject) &&
    nullishOr(body.temperature, isFiniteNumber) &&
    nullishOr(body.top_p, isFiniteNumber) &&
    nullishOr(body.presence_penalty, isFiniteNumber) &&
    nullishOr(body.frequency_penalty, isFiniteNumber) &&
    nullishOr(body.n, Number.isSafeInteger) &&
    nullishOr(body.max_tokens, Number.isSafeInteger) &&
    nullishOr(body.max_completion_tokens, Number.isSafeInteger) &&
    nullishOr(body.seed, Number.isSafeInteger) &&
    nullishOr(body.stop, isStop) &&
    nullishOr(body.user, isString) &&
    nullishOr(body.tools, isTools) &&
    nullishOr(body.tool_choice, isStringOrObject) &&
    nullishOr(body.response_format, isObject) &&
    nullishOr(body.logit_bias, isObject) &&
    nullishOr(body.metadata, isObject)
  );
}

function messageValid(message: unknown): boolean {
  if (!isObject(message)) return false;
  const role = message.role;
  if (typeof role !== "string" || role.length === 0) return false;
  return (
    nullishOr(message.content, isContent) &&
    nullishOr(message.name, isString) &&
    nullishOr(message.tool_calls, isArrayOfObjects) &&
    nullishOr(message.tool_call_id, isString)
  );
}

function nullishOr(value: unknown, check: (value: unknown) => boolean): boolean {
  return value === undefined || value === null || check(value);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isString(value: unknown): boolean {
  return typeof value === "string";
}

function isBoolean(value: unknown): boolean {
  return typeof value === "boolean";
}

function isFiniteNumber(value: unknown): boolean {
  return typeof value === "number" && Number.isFinite(value);
}

function isStringOrObject(value: unknown): boolean {
  return typeof value === "string" || isObject(value);
}

/** A string, or content parts: objects with a string `type`. */
function isContent(value: unknown): boolean {
  if (typeof value === "string") return true;
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) {
    const part = value[index];
    if (!isObject(part) || typeof part.type !== "string") return false;
  }
  return true;
}

function isArrayOfObjects(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) if (!isObject(value[index])) return false;
  return true;
}

function isStop(value: unknown): boolean {
  if (typeof value === "string") return true;
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) if (typeof value[index] !== "string") return false;
  return true;
}

/** Tools: objects with a string `type` and, when present, a `function` object with a string `name`. */
function isTools(value: unknown): boolean {
  if (!Array.isArray(value)) return false;
  for (let index = 0; index < value.length; index++) {
    const tool = value[index];
    if (!isObject(tool) || typeof tool.type !== "string") return false;
    const fn = tool.function;
    if (fn !== undefined && !(isObject(fn) && typeof fn.name === "string")) return false;
  }
  return true;
}

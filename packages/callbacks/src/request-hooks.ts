/**
 * Runs the request hooks (guardrails, budgets) of SPEC §4 around a call.
 */
import type { RunHooksOptions } from "./api-types";
import { createDefaultLogger, safeLog } from "./default-logger";
import { describeError } from "./describe-error";
import { createSecretScrubber } from "./redaction";
import type { AfterCallContext, BeforeCallContext, Logger, RequestHooks } from "./types";

const scrubCredentials = createSecretScrubber([]);
let defaultLogger: Logger | undefined;

function fallbackLogger(): Logger {
  if (defaultLogger === undefined) defaultLogger = createDefaultLogger();
  return defaultLogger;
}

/**
 * Runs every `beforeCall` hook in order, before routing. A hook may mutate `context.body` or
 * return a replacement body, which the next hooks see (`context.body` is updated). Resolves to
 * the final body. What a hook throws propagates unchanged: `rejectCall(...)` refuses the call
 * with its status; any other error fails the call closed (the core answers 500).
 * A hook returning something other than an object, undefined or null is a TypeError.
 */
export async function runBeforeCallHooks(
  hooks: readonly RequestHooks[],
  context: BeforeCallContext,
): Promise<Record<string, unknown>> {
  for (let index = 0; index < hooks.length; index++) {
    const hook = hooks[index];
    if (typeof hook?.beforeCall !== "function") continue;
    const replacement = await hook.beforeCall(context);
    if (replacement === undefined || replacement === null) continue;
    if (typeof replacement !== "object" || Array.isArray(replacement)) {
      throw new TypeError(
        `request hook #${index} beforeCall returned ${typeof replacement}; expected an object or nothing`,
      );
    }
    context.body = replacement;
  }
  return context.body;
}

/**
 * Runs every `afterCall` hook in order, after the response. Errors (rejections included) are
 * logged, secret-scrubbed, and never thrown: the response is already sent. Never rejects.
 */
export async function runAfterCallHooks(
  hooks: readonly RequestHooks[],
  context: AfterCallContext,
  options: RunHooksOptions = {},
): Promise<void> {
  for (let index = 0; index < hooks.length; index++) {
    const hook = hooks[index];
    if (typeof hook?.afterCall !== "function") continue;
    try {
      await hook.afterCall(context);
    } catch (error) {
      const logger = options.logger ?? fallbackLogger();
      safeLog(logger, "error", "request hook afterCall failed", {
        hook: index,
        callId: context.callId,
        error: describeError(error, scrubCredentials),
      });
    }
  }
}

import type { CallbackEngine, CallEvent, CallTracer, Logger, RequestHooks } from "@llmux/callbacks";
import type { Pricing } from "@llmux/pricing";
import type { ResolvedConfig } from "../config/types";
import type { Router } from "../router/router";
import type { CallRun } from "./call-run";

/** What a CallRun needs from its gateway (kept narrow so runs are easy to test). */
export interface GatewayInternals {
  readonly config: ResolvedConfig;
  readonly router: Router;
  readonly engine: CallbackEngine;
  readonly pricing: Pricing;
  readonly logger: Logger;
  readonly tracers: readonly CallTracer[];
  readonly afterCallHooks: readonly NonNullable<RequestHooks["afterCall"]>[];
  /** true when any sink, tracer or after-call hook wants events. */
  listening(): boolean;
  /** true when a sink, tracer or after-call hook reads the prompt and response content. */
  wantsContent(): boolean;
  runAfterCall(run: CallRun, event: CallEvent): void;
  /** Removes configured secrets from a text. */
  scrub(text: string): string;
}

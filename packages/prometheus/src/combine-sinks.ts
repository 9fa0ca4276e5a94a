/** One callback sink that hands each event to the llmux-named sink and the LiteLLM-named one. */
import type { CallbackSink } from "@llmux/callbacks";

type Handler = keyof Pick<
  CallbackSink,
  "onStart" | "onSuccess" | "onFailure" | "onAttempt" | "onFallback" | "onCooldown"
>;
const HANDLERS: readonly Handler[] = [
  "onStart",
  "onSuccess",
  "onFailure",
  "onAttempt",
  "onFallback",
  "onCooldown",
];

/** The sink itself when only one is given (the default "llmux" names: no extra call per event). */
export function combineSinks(
  first: CallbackSink | undefined,
  second: CallbackSink | undefined,
): CallbackSink {
  if (first && !second) return first;
  if (second && !first) return { ...second, name: "prometheus" };
  const sinks = [first, second].filter((sink): sink is CallbackSink => sink !== undefined);
  const combined: { -readonly [K in keyof CallbackSink]: CallbackSink[K] } = {
    name: "prometheus",
    only: "all",
  };
  for (const handler of HANDLERS) {
    const targets = sinks.filter((sink) => sink[handler] !== undefined);
    if (targets.length === 0) continue;
    combined[handler] = ((event: never) => {
      for (const sink of targets) (sink[handler] as (event: never) => void).call(sink, event);
    }) as never;
  }
  return combined as CallbackSink;
}

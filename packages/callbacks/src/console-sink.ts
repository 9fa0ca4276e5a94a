/**
 * A sink that prints one readable line per finished call, e.g.
 *
 *   2025-05-01T10:00:01.234Z OK gpt-4o → gpt4o-east (openai) in=1200 out=350 cost=$0.0065 dur=1840ms ttft=210ms user=alice call=c-1
 *   2025-05-01T10:00:02.000Z FAIL 429 rate_limit gpt-4o → gpt4o-east (openai) in=- out=- cost=- dur=95ms ttft=- user=- call=c-2 error="Rate limit reached"
 */
import type { ConsoleSinkOptions } from "./api-types";
import type { CallbackSink, CallEvent } from "./types";

function formatCost(event: CallEvent): string {
  if (event.cost === null || event.cost === undefined) return "cost=-";
  const total = event.cost.total;
  // Small costs keep 3 significant digits so a $0.0000125 call does not print as $0.0000.
  const text = total === 0 ? "0" : total >= 0.01 ? total.toFixed(4) : total.toPrecision(3);
  return `cost=$${text}`;
}

function formatMs(value: number | undefined): string {
  return value === undefined || !Number.isFinite(value) ? "-" : `${Math.round(value)}ms`;
}

function quote(value: string): string {
  return /^[A-Za-z0-9._:@/+-]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * One line per call:
 * `<ISO end time> <OK | FAIL status type> <model group> → <deployment> (<provider>) in=<n> out=<n>
 *  cost=$<total> dur=<ms> ttft=<ms> user=<user> call=<call id>[ error="<message>"]`.
 * Missing values print as "-"; a user or message with spaces is JSON-quoted.
 */
export function formatCallLine(event: CallEvent): string {
  const timings = event.timings;
  const parts: string[] = [new Date(timings?.endTime ?? Date.now()).toISOString()];
  if (event.status === "success") {
    parts.push("OK");
  } else {
    parts.push("FAIL", String(event.error?.status ?? "-"), event.error?.type ?? "-");
  }
  parts.push(
    quote(event.modelGroup || "-"),
    "→",
    quote(event.deploymentId ?? "-"),
    `(${event.provider ?? "-"})`,
    `in=${event.usage?.inputTokens ?? "-"}`,
    `out=${event.usage?.outputTokens ?? "-"}`,
    formatCost(event),
    `dur=${formatMs(timings?.durationMs)}`,
    `ttft=${formatMs(timings?.ttftMs)}`,
    `user=${event.user === undefined || event.user === "" ? "-" : quote(event.user)}`,
    `call=${event.callId}`,
  );
  if (event.status === "failure" && event.error?.message) {
    const message =
      event.error.message.length > 200 ? `${event.error.message.slice(0, 200)}…` : event.error.message;
    parts.push(`error=${JSON.stringify(message)}`);
  }
  return parts.join(" ");
}

/** Prints one line per finished call (success and failure) to a stream, stdout by default. */
export function consoleSink(options: ConsoleSinkOptions = {}): CallbackSink {
  const stream = options.stream ?? process.stdout;
  const write = (event: CallEvent): void => {
    stream.write(`${formatCallLine(event)}\n`);
  };
  return {
    name: options.name ?? "console",
    only: options.only ?? "all",
    onSuccess: write,
    onFailure: write,
  };
}

import type { Usage } from "@llmux/pricing";
import type { StreamItem } from "../providers/types";

/**
 * The usage chunk a client asked for, with the call's cost in its usage (`usage.cost`, as LiteLLM
 * sends it): the chunk `{ ...chunk, usage: { ...usage, cost } }`. Its text is the upstream's own with
 * `"cost":<cost>` added at the end of the usage object, when that object is plainly the chunk's last
 * member (`usageTextWithCost`); otherwise the handler serialises the chunk. The chunk object is built
 * only if something reads it.
 */
export class UsageWithCostItem implements StreamItem {
  readonly usageOnly = true;
  readonly usage: Usage | undefined;
  readonly raw: string | undefined;
  private built: Record<string, unknown> | undefined;

  constructor(
    private readonly item: StreamItem,
    private readonly cost: number | null,
  ) {
    this.usage = item.usage;
    if (item.raw !== undefined) this.raw = usageTextWithCost(item.raw, item.chunk.usage, cost);
  }

  get chunk(): Record<string, unknown> {
    this.built ??= {
      ...this.item.chunk,
      usage: { ...(this.item.chunk.usage as object), cost: this.cost },
    };
    return this.built;
  }
}

const USAGE_KEY = '"usage":';

/**
 * `raw` (a chunk's JSON text whose parsed `usage` is `usage`) with `"cost":<cost>` as the usage
 * object's last member, or undefined when that cannot be done plainly: the text must end with
 * `"usage":` followed by exactly the usage's own JSON and the chunk's closing brace (so the usage is
 * the chunk's last member, whichever spacing or escapes the rest uses), and the usage must not have
 * a cost already (the spread would replace it in place). The result parses to
 * `{ ...chunk, usage: { ...usage, cost } }`, with the same key order.
 */
export function usageTextWithCost(raw: string, usage: unknown, cost: number | null): string | undefined {
  if (typeof usage !== "object" || usage === null || Array.isArray(usage)) return undefined;
  if (Object.hasOwn(usage, "cost")) return undefined;
  const usageText = JSON.stringify(usage);
  const end = raw.length - 1;
  const usageAt = end - usageText.length;
  // a slice compared with `===` (memory), not endsWith (a character at a time in V8 11.3)
  if (
    raw.charCodeAt(end) !== 125 /* } */ ||
    usageAt < USAGE_KEY.length ||
    raw.slice(usageAt, end) !== usageText
  )
    return undefined;
  if (raw.slice(usageAt - USAGE_KEY.length, usageAt) !== USAGE_KEY) return undefined;
  const member = `"cost":${JSON.stringify(cost)}`;
  return `${raw.slice(0, end - 1)}${usageText === "{}" ? "" : ","}${member}}}`;
}

import type { Usage } from "@llmux/pricing";
import type { CacheEntry } from "../cache/response-cache";
import { LlmuxError } from "../errors/llmux-error";
import type { StreamItem } from "../providers/types";
import type { CallRun } from "./call-run";
import { LazyItems } from "./lazy-members";

/**
 * A cached stream replayed (chat chunks or Messages events, already shaped for the client): all its
 * items in one batch, as a live stream hands over the items of one upstream read. The hit is settled
 * once the items were taken and the next batch is asked for, so that its event's timing covers the
 * replay; a client that leaves first gets the call recorded as aborted, once.
 */
export function replayCached<T>(options: {
  run: CallRun;
  /** The items, made when first asked for (a hit written whole never makes them). */
  items: () => T[];
  settle: () => void;
  failure: (run: CallRun, error: LlmuxError) => void;
}): {
  nextBatch(): Promise<T[] | undefined>;
  items: AsyncGenerator<T>;
  cancel(): Promise<void>;
  /** The replay was sent whole (not through its items): settles the hit, once. */
  served(): void;
} {
  let given = false;
  let finished = false;
  const aborted = () => {
    if (!finished)
      options.failure(
        options.run,
        new LlmuxError({ kind: "aborted", message: "The client closed the connection" }),
      );
    finished = true;
  };
  const nextBatch = async (): Promise<T[] | undefined> => {
    if (finished) return undefined;
    if (!given) {
      given = true;
      return options.items();
    }
    finished = true;
    options.settle();
    return undefined;
  };
  async function* items(): AsyncGenerator<T> {
    try {
      while (true) {
        const batch = await nextBatch();
        if (batch === undefined) return;
        yield* batch;
      }
    } finally {
      aborted();
    }
  }
  return new Replayed(
    nextBatch,
    items,
    async () => aborted(),
    () => {
      if (finished) return;
      finished = true;
      options.settle();
    },
  );
}

/** A replayed hit (a class, not a literal with an `items` getter: see lazy-members.ts). */
class Replayed<T> extends LazyItems<T> {
  constructor(
    nextBatch: () => Promise<T[] | undefined>,
    makeItems: () => AsyncGenerator<T>,
    cancel: () => Promise<void>,
    /** The replay was sent whole (not through its items): settles the hit, once. */
    readonly served: () => void,
  ) {
    super(nextBatch, makeItems, cancel);
  }
}

/** What a replayed chat stream sends for one item: its JSON text, and its usage when it carries one. */
interface ReplayedText {
  raw: string;
  usage?: Usage;
  usageOnly?: boolean;
}

/** What a cached stream replays for callers that asked for usage or not: its texts and its SSE body. */
interface ReplayedStream {
  texts: ReplayedText[];
  /** The chat route's whole SSE body: every `data:` event and the `[DONE]` terminator. */
  sse?: string;
}

/** The replayed streams of a cache entry, for callers that asked for usage (true) or not. */
const replayed = new WeakMap<CacheEntry, Map<boolean, ReplayedStream>>();

type Present = (item: StreamItem, price: (usage: Usage) => number | null) => StreamItem | undefined;

/** `present` (the usage chunk shown only when asked, cost 0) and the JSON text of each item, once per entry and choice. */
function replayedStream(entry: CacheEntry, includeUsage: boolean, present: Present): ReplayedStream {
  let byChoice = replayed.get(entry);
  if (byChoice === undefined) {
    byChoice = new Map();
    replayed.set(entry, byChoice);
  }
  let stream = byChoice.get(includeUsage);
  if (stream === undefined) {
    const texts: ReplayedText[] = [];
    for (const item of entry.items ?? []) {
      const shown = present(item, () => 0);
      if (shown === undefined) continue;
      const text: ReplayedText = { raw: shown.raw ?? JSON.stringify(shown.chunk) };
      if (shown.usage) text.usage = shown.usage;
      if (shown.usageOnly) text.usageOnly = true;
      texts.push(text);
    }
    stream = { texts };
    byChoice.set(includeUsage, stream);
  }
  return stream;
}

/**
 * The items a cached chat stream replays, worked out once per entry and usage choice (see
 * `replayedStream`); every hit gets fresh items over those texts (each parses its chunk only when
 * read, so no hit sees another's objects).
 */
export function replayStreamItems(entry: CacheEntry, includeUsage: boolean, present: Present): StreamItem[] {
  return replayedStream(entry, includeUsage, present).texts.map((text) => new ReplayedItem(text));
}

/**
 * A cached chat stream's whole SSE body as the chat route sends it (`data: <chunk>` events, then
 * `data: [DONE]`), built once per entry and usage choice: a hit is written at once, no item per chunk.
 */
export function replayedSse(entry: CacheEntry, includeUsage: boolean, present: Present): string {
  const stream = replayedStream(entry, includeUsage, present);
  if (stream.sse === undefined) {
    let sse = "";
    for (const text of stream.texts) sse += `data: ${text.raw}\n\n`;
    stream.sse = `${sse}data: [DONE]\n\n`;
  }
  return stream.sse;
}

/** A replayed stream item: its chunk is parsed from its text when first read (a copy of its own). */
class ReplayedItem implements StreamItem {
  readonly raw: string;
  usage?: Usage;
  usageOnly?: boolean;
  private parsed: Record<string, unknown> | undefined;

  constructor(text: ReplayedText) {
    this.raw = text.raw;
    if (text.usage) this.usage = text.usage;
    if (text.usageOnly) this.usageOnly = true;
  }

  get chunk(): Record<string, unknown> {
    this.parsed ??= JSON.parse(this.raw) as Record<string, unknown>;
    return this.parsed;
  }
}

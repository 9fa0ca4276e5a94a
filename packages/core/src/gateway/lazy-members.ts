/**
 * Per-call objects with a member made on first read (a stream's items, a hit's parsed body), as
 * classes whose getter lives once on the prototype.
 *
 * Not object literals with a getter (`{ get items() { ... } }`): on Node 20 and 24 (V8 11 and 13),
 * every object made by such a literal keeps its whole graph (the getter's closure, its context, the
 * call) alive through young-generation collections until the next full one. Measured on
 * `llmux-node-off` streams at concurrency 1 (`--trace-gc-nvp`): 16 kB of each call promoted to the old
 * generation with the stream driver's literal, 4 kB without; a 20 kB array hung on the call was
 * promoted with 80 % of calls. A ten-line script shows it alone (90 % of what it allocates promoted
 * with the literal, 0.1 % with a class). A test (lazy-members.test.ts) keeps it that way.
 */
import type { CallEvent } from "@llmux/callbacks";

/**
 * A driven or replayed stream: its batches, the same items one at a time (the generator made when
 * first asked), and its cancel.
 */
export class LazyItems<T> {
  private generator: AsyncGenerator<T> | undefined;

  constructor(
    readonly nextBatch: () => Promise<T[] | undefined>,
    private readonly makeItems: () => AsyncGenerator<T>,
    readonly cancel: () => Promise<void>,
  ) {}

  get items(): AsyncGenerator<T> {
    this.generator ??= this.makeItems();
    return this.generator;
  }
}

/** What a stream outcome hands its consumer: the source's items, as `chunks` (chat) or `events` (messages). */
export class StreamOutcomeView<T> {
  readonly nextBatch: () => Promise<T[] | undefined>;
  readonly cancel: () => Promise<void>;
  trailers?: () => Record<string, string>;
  /** A chat cache hit: its whole SSE body (see StreamOutcome.whole). */
  whole?: { sse: string; served(): void };

  constructor(
    readonly headers: Record<string, string>,
    private readonly source: {
      nextBatch(): Promise<T[] | undefined>;
      readonly items: AsyncGenerator<T>;
      cancel(): Promise<void>;
      trailers?: () => Record<string, string>;
    },
  ) {
    this.nextBatch = source.nextBatch;
    this.cancel = source.cancel;
    if (source.trailers) this.trailers = source.trailers;
  }

  get chunks(): AsyncGenerator<T> {
    return this.source.items;
  }

  get events(): AsyncGenerator<T> {
    return this.source.items;
  }
}

/** A non-streamed cache hit's outcome: the stored text to send, and the body parsed when first read. */
export class HitOutcome<T> {
  event?: CallEvent;
  readonly raw: string;

  constructor(
    private readonly answer: { readonly raw: string; readonly body: T },
    readonly headers: Record<string, string>,
  ) {
    this.raw = answer.raw;
  }

  get body(): T {
    return this.answer.body;
  }
}

import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import type { Logger, PluginResponseStore, StoredResponseRecord } from "@llmux/callbacks";
import { LlmuxError } from "../errors/llmux-error";
import type { ResponseItem, ResponseObject } from "./types";

export interface ResponseStorageOptions {
  /** How long a stored response lives (GET, DELETE, previous_response_id). */
  ttlMs: number;
  /** The store: the control plane's database when a plugin offers one, else the gateway's memory. */
  store: () => PluginResponseStore;
  clock: () => number;
  logger: Logger;
}

/** What a call keeps of a response (the rest is filled in by `save`). */
export interface ResponseToKeep {
  response: ResponseObject;
  input: ResponseItem[];
  items: ResponseItem[];
  model: string;
  owner: string | undefined;
}

/**
 * Stored responses as the gateway uses them, over whichever store is configured. Saving never holds
 * up the answer: the write runs in the background and, until it settles, reads of that id are served
 * from the pending record (so a client that continues at once finds its response on this instance).
 * A write that fails is logged (without content) and counted; a read that fails is a 503.
 */
export class ResponseStorage {
  private readonly pending = new Map<string, { record: StoredResponseRecord; done: Promise<void> }>();
  private failedWrites = 0;

  constructor(private readonly options: ResponseStorageOptions) {}

  get kind(): string {
    return this.options.store().kind;
  }

  stats(): { store: string; pendingWrites: number; failedWrites: number } {
    return { store: this.kind, pendingWrites: this.pending.size, failedWrites: this.failedWrites };
  }

  save(keep: ResponseToKeep): void {
    const now = this.options.clock();
    const record: StoredResponseRecord = {
      id: keep.response.id,
      response: keep.response,
      input: keep.input,
      items: keep.items,
      outputItems: keep.response.output.filter(
        (item): item is ResponseItem & { id: string } => typeof item.id === "string",
      ),
      model: keep.model,
      createdAt: now,
      expiresAt: now + this.options.ttlMs,
    };
    if (keep.owner !== undefined) record.owner = keep.owner;
    const done = this.options
      .store()
      .set(record)
      .catch((error: unknown) => {
        this.failedWrites++;
        this.options.logger.warn(
          "storing a Responses API response failed; it cannot be retrieved or continued",
          {
            store: this.kind,
            error: String((error as Error)?.message ?? error).slice(0, 200),
          },
        );
      })
      .finally(() => {
        if (this.pending.get(record.id)?.done === done) this.pending.delete(record.id);
      });
    this.pending.set(record.id, { record, done });
  }

  /** A stored response the caller may see (its owner, or an admin), else undefined. */
  async get(id: string, caller: Caller): Promise<StoredResponseRecord | undefined> {
    const pending = this.pending.get(id);
    const record = pending ? pending.record : await this.read(() => this.options.store().get(id));
    if (!record || record.expiresAt <= this.options.clock()) return undefined;
    return visibleTo(record, caller) ? record : undefined;
  }

  /** Deletes a response the caller may see; false when there is none. */
  async delete(id: string, caller: Caller): Promise<boolean> {
    const record = await this.get(id, caller);
    if (!record) return false;
    await this.pending.get(id)?.done;
    return this.read(() => this.options.store().delete(id));
  }

  /** An output item of a response the caller may see, for `item_reference`. */
  async item(itemId: string, caller: Caller): Promise<ResponseItem | undefined> {
    for (const { record } of this.pending.values()) {
      const found = record.outputItems.find((item) => item.id === itemId);
      if (found) return visibleTo(record, caller) ? found : undefined;
    }
    const found = await this.read(() => this.options.store().item(itemId));
    if (!found) return undefined;
    return caller.admin === true || found.owner === undefined || found.owner === caller.owner
      ? (found.item as ResponseItem)
      : undefined;
  }

  /** Waits for the writes under way (shutdown, tests). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending.values()].map((entry) => entry.done));
  }

  private async read<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation();
    } catch {
      throw new LlmuxError({
        kind: "unavailable",
        message:
          "The stored responses are unavailable right now (the control plane database); try again later",
        code: "response_store_unavailable",
      });
    }
  }
}

/** Who asks: the SHA-256 of the key presented (if any), and whether it is an admin (the master key). */
export interface Caller {
  owner: string | undefined;
  admin?: boolean;
}

function visibleTo(record: StoredResponseRecord, caller: Caller): boolean {
  return caller.admin === true || record.owner === undefined || record.owner === caller.owner;
}

/** The owner of what a request stores: SHA-256 of its API key (Bearer or x-api-key), hex. */
export function ownerOf(request: unknown): string | undefined {
  const headers = (request as Partial<IncomingMessage> | undefined)?.headers;
  if (!headers || typeof headers !== "object") return undefined;
  const authorization = headers.authorization;
  let key: string | undefined;
  if (typeof authorization === "string" && authorization.toLowerCase().startsWith("bearer "))
    key = authorization.slice(7).trim();
  else if (typeof headers["x-api-key"] === "string") key = headers["x-api-key"];
  return key ? createHash("sha256").update(key).digest("hex") : undefined;
}

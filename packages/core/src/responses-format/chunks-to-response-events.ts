import type { Usage } from "@llmux/pricing";
import type { StreamItem } from "../providers/types";
import {
  functionCallItem,
  messageItem,
  type ResponseContext,
  responseEnvelope,
  responsesUsage,
  statusFromFinishReason,
} from "./completion-to-response";
import type { ResponseItem, ResponseObject, ResponseStreamEvent, ResponsesStreamItem } from "./types";

type Open =
  | { kind: "message"; index: number; id: string; text: string }
  | { kind: "reasoning"; index: number; id: string; text: string }
  | { kind: "function_call"; index: number; id: string; callId: string; name: string; args: string };

/**
 * OpenAI chat chunks → Responses stream events, for /v1/responses streams served by a deployment
 * without the Responses API: response.created and response.in_progress, then one output item at a
 * time (reasoning summary text, message output_text, function_call arguments), each opened with
 * response.output_item.added and closed with its .done events, and at the end response.completed
 * (or response.incomplete) with the whole Response and its usage. Every event has a sequence_number.
 */
export class ChunksToResponseEvents {
  private sequence = 0;
  private started = false;
  private open: Open | undefined;
  private readonly output: ResponseItem[] = [];
  private readonly toolItems = new Map<number, Open & { kind: "function_call" }>();
  private finishReason: unknown;
  private usage: Usage | undefined;
  private model: string | undefined;
  private readonly suffix: string;

  constructor(private readonly context: ResponseContext) {
    this.suffix = context.id.replace(/^resp_/, "");
  }

  /** The Response assembled so far (complete once finish() ran). */
  get response(): ResponseObject {
    const response = responseEnvelope(this.context, this.model);
    response.output = [...this.output];
    return response;
  }

  push(item: StreamItem): ResponseStreamEvent[] {
    const events: ResponseStreamEvent[] = [];
    if (!this.started) this.start(item.chunk, events);
    if (item.usage) this.usage = item.usage;
    const choice = (item.chunk.choices as Array<Record<string, unknown>> | undefined)?.[0];
    if (!choice) return events;
    const delta = (choice.delta ?? {}) as Record<string, unknown>;
    const reasoning = delta.reasoning_content ?? delta.reasoning;
    if (typeof reasoning === "string" && reasoning.length > 0) {
      const open = this.ensure("reasoning", events);
      open.text += reasoning;
      events.push(
        this.event("response.reasoning_summary_text.delta", {
          item_id: open.id,
          output_index: open.index,
          summary_index: 0,
          delta: reasoning,
        }),
      );
    }
    if (typeof delta.content === "string" && delta.content.length > 0) {
      const open = this.ensure("message", events);
      open.text += delta.content;
      events.push(
        this.event("response.output_text.delta", {
          item_id: open.id,
          output_index: open.index,
          content_index: 0,
          delta: delta.content,
          logprobs: [],
        }),
      );
    }
    if (Array.isArray(delta.tool_calls)) {
      for (const call of delta.tool_calls as Array<Record<string, unknown>>) {
        const toolIndex = typeof call.index === "number" ? call.index : this.toolItems.size;
        const fn = (call.function ?? {}) as Record<string, unknown>;
        let open = this.toolItems.get(toolIndex);
        if (!open) {
          this.close(events);
          open = {
            kind: "function_call",
            index: this.output.length,
            id: `fc_${this.suffix}_${toolIndex}`,
            callId: typeof call.id === "string" ? call.id : `call_${this.suffix}_${toolIndex}`,
            name: typeof fn.name === "string" ? fn.name : "",
            args: "",
          };
          this.toolItems.set(toolIndex, open);
          this.open = open;
          const added = functionCallItem(open.id, open.callId, open.name, "", this.context, "in_progress");
          this.output.push(added);
          events.push(this.event("response.output_item.added", { output_index: open.index, item: added }));
        }
        const args = fn.arguments;
        if (typeof args === "string" && args.length > 0 && this.open === open) {
          open.args += args;
          events.push(
            this.event("response.function_call_arguments.delta", {
              item_id: open.id,
              output_index: open.index,
              delta: args,
            }),
          );
        }
      }
    }
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    return events;
  }

  /** The closing events; the response.completed item carries the call's usage. */
  finish(estimate: () => Usage): ResponsesStreamItem[] {
    const events: ResponseStreamEvent[] = [];
    if (!this.started) this.start({}, events);
    this.close(events);
    const items: ResponsesStreamItem[] = events.map((event) => ({ event }));
    const usage = this.usage ?? estimate();
    const response = this.response;
    const status = statusFromFinishReason(this.finishReason);
    Object.assign(response, status, { usage: responsesUsage(usage) });
    const type = status.status === "completed" ? "response.completed" : "response.incomplete";
    items.push({ event: this.event(type, { response }), usage });
    return items;
  }

  private start(chunk: Record<string, unknown>, events: ResponseStreamEvent[]): void {
    this.started = true;
    if (typeof chunk.model === "string" && chunk.model.length > 0) this.model = chunk.model;
    const response = this.response;
    events.push(this.event("response.created", { response }));
    events.push(this.event("response.in_progress", { response }));
  }

  private ensure(kind: "message" | "reasoning", events: ResponseStreamEvent[]): Open & { text: string } {
    if (this.open?.kind === kind) return this.open;
    this.close(events);
    const index = this.output.length;
    if (kind === "message") {
      const id = `msg_${this.suffix}${index === 0 ? "" : `_${index}`}`;
      const item = messageItem(id, "", "in_progress");
      this.output.push(item);
      this.open = { kind, index, id, text: "" };
      events.push(this.event("response.output_item.added", { output_index: index, item }));
      events.push(
        this.event("response.content_part.added", {
          item_id: id,
          output_index: index,
          content_index: 0,
          part: { type: "output_text", text: "", annotations: [], logprobs: [] },
        }),
      );
    } else {
      const id = `rs_${this.suffix}${index === 0 ? "" : `_${index}`}`;
      const item: ResponseItem = { id, type: "reasoning", summary: [] };
      this.output.push(item);
      this.open = { kind, index, id, text: "" };
      events.push(this.event("response.output_item.added", { output_index: index, item }));
      events.push(
        this.event("response.reasoning_summary_part.added", {
          item_id: id,
          output_index: index,
          summary_index: 0,
          part: { type: "summary_text", text: "" },
        }),
      );
    }
    return this.open as Open & { text: string };
  }

  private close(events: ResponseStreamEvent[]): void {
    const open = this.open;
    if (!open) return;
    this.open = undefined;
    let item: ResponseItem;
    if (open.kind === "message") {
      item = messageItem(open.id, open.text, "completed");
      const part = { type: "output_text", text: open.text, annotations: [], logprobs: [] };
      events.push(
        this.event("response.output_text.done", {
          item_id: open.id,
          output_index: open.index,
          content_index: 0,
          text: open.text,
          logprobs: [],
        }),
        this.event("response.content_part.done", {
          item_id: open.id,
          output_index: open.index,
          content_index: 0,
          part,
        }),
      );
    } else if (open.kind === "reasoning") {
      const part = { type: "summary_text", text: open.text };
      item = { id: open.id, type: "reasoning", summary: [part] };
      events.push(
        this.event("response.reasoning_summary_text.done", {
          item_id: open.id,
          output_index: open.index,
          summary_index: 0,
          text: open.text,
        }),
        this.event("response.reasoning_summary_part.done", {
          item_id: open.id,
          output_index: open.index,
          summary_index: 0,
          part,
        }),
      );
    } else {
      item = functionCallItem(open.id, open.callId, open.name, open.args, this.context);
      events.push(
        this.event("response.function_call_arguments.done", {
          item_id: open.id,
          output_index: open.index,
          name: open.name,
          arguments: open.args,
        }),
      );
    }
    this.output[open.index] = item;
    events.push(this.event("response.output_item.done", { output_index: open.index, item }));
  }

  private event(type: string, fields: Record<string, unknown>): ResponseStreamEvent {
    return { type, sequence_number: this.sequence++, ...fields };
  }
}

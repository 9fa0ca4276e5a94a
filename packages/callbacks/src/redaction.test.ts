import { performance } from "node:perf_hooks";
import { describe, expect, it } from "vitest";
import { createSecretScrubber, REDACTED, redactEvent, scrubSecrets } from "./redaction";
import { makeCallEvent, makeStartEvent } from "./test-fixtures";
import type { StreamChunkEvent } from "./types";

describe("redactEvent", () => {
  it("drops messages, response and content request params from call events without touching the input", () => {
    const event = makeCallEvent({ requestParams: { temperature: 0, input: "secret prompt", tools: [] } });
    const redacted = redactEvent(event);
    // Sent an event with messages/response/input: came back a copy without them, marked redacted.
    expect(redacted).not.toBe(event);
    expect("messages" in redacted).toBe(false);
    expect("response" in redacted).toBe(false);
    expect(redacted.redacted).toBe(true);
    expect(redacted.requestParams).toEqual({ temperature: 0, tools: [] });
    expect(redacted.usage).toBe(event.usage);
    expect(redacted.callId).toBe(event.callId);
    // The original is unchanged.
    expect(event.messages).toEqual([{ role: "user", content: "Say hello" }]);
    expect(event.response).toEqual({ role: "assistant", content: "Hello!" });
    expect(event.redacted).toBe(false);
    expect(event.requestParams.input).toBe("secret prompt");

    const start = redactEvent(makeStartEvent());
    expect("messages" in start).toBe(false);
    expect(start.redacted).toBe(true);
  });

  it("strips content from stream chunks but keeps ids, roles, finish reasons and usage", () => {
    const chunkEvent: StreamChunkEvent = {
      callId: "c1",
      index: 3,
      time: 10,
      chunk: {
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        model: "gpt-4o",
        choices: [
          {
            index: 0,
            delta: {
              role: "assistant",
              content: "private text",
              tool_calls: [{ function: { arguments: "{}" } }],
            },
            finish_reason: null,
            logprobs: { content: [] },
          },
        ],
        usage: { prompt_tokens: 5, completion_tokens: 2 },
      },
    };
    const redacted = redactEvent(chunkEvent);
    expect(redacted).toEqual({
      callId: "c1",
      index: 3,
      time: 10,
      chunk: {
        id: "chatcmpl-1",
        object: "chat.completion.chunk",
        model: "gpt-4o",
        choices: [{ index: 0, finish_reason: null, delta: { role: "assistant" } }],
        usage: { prompt_tokens: 5, completion_tokens: 2 },
      },
    });
    expect(JSON.stringify(redacted)).not.toContain("private text");
    expect(redactEvent({ callId: "c1", index: 0, time: 0, chunk: "raw text" }).chunk).toBeUndefined();
  });
});

describe("scrubSecrets", () => {
  const key = "sk-proj-9f8e7d6c5b4a39281706";

  it("replaces configured secrets anywhere in a JSON-able value, copy-on-write", () => {
    const value = {
      error: { message: `upstream rejected key ${key} for org`, status: 401 },
      attempts: [{ apiBase: "https://api.openai.com" }, { note: `retry with ${key}${key}` }],
      untouched: { nested: ["a", 1, true, null] },
    };
    const scrubbed = scrubSecrets(value, [key]);
    // Sent an object with the key in two strings: came back a copy with both replaced.
    expect(scrubbed).toEqual({
      error: { message: `upstream rejected key ${REDACTED} for org`, status: 401 },
      attempts: [{ apiBase: "https://api.openai.com" }, { note: `retry with ${REDACTED}${REDACTED}` }],
      untouched: { nested: ["a", 1, true, null] },
    });
    // Unchanged branches keep their identity; the input is not mutated.
    expect(scrubbed.untouched).toBe(value.untouched);
    expect(scrubbed.attempts[0]).toBe(value.attempts[0]);
    expect(value.error.message).toContain(key);
    // Nothing to replace: the very same reference comes back.
    const clean = makeCallEvent();
    expect(scrubSecrets(clean, [key])).toBe(clean);
  });

  it("redacts Bearer tokens and credential header values in text and as object keys, even with no secrets given", () => {
    const value = {
      message:
        'request failed: {"headers":{"Authorization":"Bearer abc.def-123_456","x-api-key":"ant-key-789"}}',
      log: "curl -H 'x-api-key: sk-ant-api03-xyz' -H 'authorization: Basic dXNlcjpwYXNzd29yZA=='",
      prose: "The bearer instrument is payable to the bearer of the note.",
      headers: {
        Authorization: "Bearer real-token-1234",
        "X-Api-Key": "k-123456",
        accept: "application/json",
      },
    };
    const scrubbed = scrubSecrets(value, []);
    expect(scrubbed).toEqual({
      message: `request failed: {"headers":{"Authorization":"${REDACTED}","x-api-key":"${REDACTED}"}}`,
      log: `curl -H 'x-api-key: ${REDACTED}' -H 'authorization: ${REDACTED}'`,
      prose: "The bearer instrument is payable to the bearer of the note.",
      headers: { Authorization: REDACTED, "X-Api-Key": REDACTED, accept: "application/json" },
    });
    // Idempotent: scrubbing again changes nothing.
    expect(scrubSecrets(scrubbed, [])).toBe(scrubbed);
    expect(scrubSecrets(`Bearer ${key}`, [])).toBe(`Bearer ${REDACTED}`);
  });

  it("ignores empty and very short secrets, and is cheap enough per event (figure printed)", () => {
    expect(scrubSecrets("a b c", ["", "a"])).toBe("a b c");
    const scrub = createSecretScrubber([key, "another-secret-value"]);
    const events = Array.from({ length: 10_000 }, (_, index) => makeCallEvent({ callId: `call-${index}` }));
    const measure = (work: (event: (typeof events)[number]) => unknown): number => {
      const started = performance.now();
      for (const event of events) work(event);
      return performance.now() - started;
    };
    measure(scrub); // warm-up
    const scrubMs = measure(scrub);
    const stringifyMs = measure((event) => JSON.stringify(event));
    const changed = events.filter((event) => scrub(event) !== event).length;
    console.log(
      `[callbacks] scrubSecrets on 10 000 call events (2 secrets, nothing to replace): ${scrubMs.toFixed(1)} ms, ` +
        `${((scrubMs * 1000) / events.length).toFixed(2)} µs per event; JSON.stringify of the same events: ` +
        `${((stringifyMs * 1000) / events.length).toFixed(2)} µs per event (ratio ${(scrubMs / stringifyMs).toFixed(2)})`,
    );
    expect(changed).toBe(0);
  });
});

/**
 * The calls the load generator sends: an OpenAI chat completion, plain or streamed (with
 * `stream_options.include_usage`, as the official SDKs' users usually ask), to
 * `<target>/v1/chat/completions`. The mock answers 12 words: one JSON body, or 15 SSE events
 * (role, 12 words, finish, usage) and `[DONE]`.
 */
import { BENCH_MASTER_KEY } from "../servers/bench-keys";

export type CallKind = "plain" | "stream";

const MESSAGES = [
  { role: "system", content: "You are a concise assistant." },
  { role: "user", content: "Say hello to the benchmark in a few words." },
];

const PLAIN_BODY = JSON.stringify({ model: "gpt-4o", messages: MESSAGES, temperature: 0.2 });
const STREAM_BODY = JSON.stringify({
  model: "gpt-4o",
  messages: MESSAGES,
  temperature: 0.2,
  stream: true,
  stream_options: { include_usage: true },
});

export const CHAT_PATH = "/v1/chat/completions";

export function requestBody(kind: CallKind): string {
  return kind === "stream" ? STREAM_BODY : PLAIN_BODY;
}

export function requestHeaders(kind: CallKind): Record<string, string> {
  return {
    "content-type": "application/json",
    accept: kind === "stream" ? "text/event-stream" : "application/json",
    authorization: `Bearer ${BENCH_MASTER_KEY}`,
  };
}

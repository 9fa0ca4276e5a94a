import type { IncomingMessage, ServerResponse } from "node:http";
import { LlmuxError, toLlmuxError } from "../errors/llmux-error";
import type { CallInput } from "../gateway/call-run";
import type { Gateway } from "../gateway/create-gateway";
import type { ChatCompletion } from "../providers/types";
import type { Access } from "./authenticate";
import { json } from "./create-handler";
import { openAiErrorBody } from "./error-body";
import { type HttpCallInput, prepareCall } from "./prepare-call";
import { SseWriter, STREAM_TRAILERS } from "./sse-writer";

/** Body keys of a legacy completion that mean the same in chat. */
const SHARED_KEYS = [
  "max_tokens",
  "temperature",
  "top_p",
  "n",
  "stop",
  "presence_penalty",
  "frequency_penalty",
  "logit_bias",
  "seed",
  "user",
  "stream",
  "stream_options",
  "metadata",
  "fallbacks",
  "timeout",
  "no_log",
  "num_retries",
];

/**
 * POST /v1/completions, the legacy text completions API: `prompt` (a string, or an array of strings
 * answered one call each) becomes one user message of a chat call on the same router, callbacks and
 * pricing (callType "completions"), and the answer comes back as a `text_completion` (streamed:
 * `text_completion` chunks, then the usage chunk when stream_options.include_usage is set, then
 * [DONE]). `echo` puts the prompt in front of the text; `suffix`, `best_of` and `logprobs` are not
 * supported (400).
 */
export async function handleCompletionsRoute(
  gateway: Gateway,
  request: IncomingMessage,
  response: ServerResponse,
  parsedBody: unknown,
  startTime: number,
  access: Access,
): Promise<void> {
  const input = await prepareCall(gateway, {
    callType: "completions",
    request,
    response,
    parsedBody,
    access,
    startTime,
    validate,
  });
  if (!input) return;
  const prompts =
    typeof input.body.prompt === "string" ? [input.body.prompt] : (input.body.prompt as string[]);
  const echo = input.body.echo === true;
  if (!input.stream) {
    const answers = await Promise.all(
      prompts.map((prompt, index) =>
        gateway.chat(chatInput(input, prompt, index === 0 ? input.callId : gateway.newCallId())),
      ),
    );
    const first = answers[0]!;
    const body = textCompletion(
      answers.map((answer) => answer.body),
      prompts,
      echo,
    );
    json(response, 200, body, first.headers);
    return;
  }
  if (prompts.length > 1)
    throw invalid("a streamed completion takes one prompt (send one request per prompt)", "prompt");
  const outcome = await gateway.chatStream(chatInput(input, prompts[0]!, input.callId));
  const writer = new SseWriter(response);
  try {
    writer.open(200, outcome.headers, outcome.trailers && STREAM_TRAILERS);
  } catch (error) {
    await outcome.cancel();
    throw error;
  }
  try {
    let echoed = !echo;
    for await (const item of outcome.chunks) {
      if (writer.isClosed) break;
      const chunk = item.chunk;
      const choices = (chunk.choices as Array<Record<string, unknown>> | undefined) ?? [];
      const converted: Record<string, unknown> = {
        id: String(chunk.id ?? "").replace(/^chatcmpl/, "cmpl"),
        object: "text_completion",
        created: chunk.created ?? Math.floor(Date.now() / 1000),
        model: chunk.model,
        choices: choices.map((choice) => {
          const delta = (choice.delta ?? {}) as Record<string, unknown>;
          let text = typeof delta.content === "string" ? delta.content : "";
          if (!echoed) {
            text = prompts[0] + text;
            echoed = true;
          }
          return {
            text,
            index: choice.index ?? 0,
            logprobs: null,
            finish_reason: choice.finish_reason ?? null,
          };
        }),
      };
      if (chunk.usage) converted.usage = chunk.usage;
      await writer.data(JSON.stringify(converted));
    }
    writer.end("data: [DONE]\n\n", outcome.trailers?.());
  } catch (raw) {
    const error = toLlmuxError(raw);
    if (error.kind !== "aborted") await writer.data(JSON.stringify(openAiErrorBody(error)));
    writer.end();
  }
}

function chatInput(input: HttpCallInput, prompt: string, callId: string): CallInput {
  const body: Record<string, unknown> = {
    model: input.body.model,
    messages: [{ role: "user", content: prompt }],
  };
  for (const key of SHARED_KEYS) if (input.body[key] !== undefined) body[key] = input.body[key];
  return input.withIdAndBody(callId, body);
}

/** Chat completions (one per prompt) as one text_completion, choices indexed across prompts. */
function textCompletion(
  completions: ChatCompletion[],
  prompts: string[],
  echo: boolean,
): Record<string, unknown> {
  const first = completions[0]!;
  const choices: Array<Record<string, unknown>> = [];
  let prompt = 0;
  let completion = 0;
  let total = 0;
  for (const [promptIndex, answer] of completions.entries()) {
    for (const choice of answer.choices) {
      const message = (choice.message ?? {}) as { content?: unknown };
      const text = typeof message.content === "string" ? message.content : "";
      choices.push({
        text: echo ? prompts[promptIndex] + text : text,
        index: choices.length,
        logprobs: null,
        finish_reason: choice.finish_reason ?? null,
      });
    }
    const usage = answer.usage as
      | { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number }
      | undefined;
    prompt += usage?.prompt_tokens ?? 0;
    completion += usage?.completion_tokens ?? 0;
    total += usage?.total_tokens ?? 0;
  }
  return {
    id: String(first.id ?? "").replace(/^chatcmpl/, "cmpl"),
    object: "text_completion",
    created: first.created ?? Math.floor(Date.now() / 1000),
    model: first.model,
    choices,
    usage: { prompt_tokens: prompt, completion_tokens: completion, total_tokens: total },
  };
}

function validate(body: Record<string, unknown>): void {
  if (typeof body.model !== "string" || body.model.length === 0)
    throw invalid("'model' is required and must be a string", "model");
  const prompt = body.prompt;
  const ok =
    (typeof prompt === "string" && prompt.length > 0) ||
    (Array.isArray(prompt) &&
      prompt.length > 0 &&
      prompt.length <= 20 &&
      prompt.every((item) => typeof item === "string"));
  if (!ok)
    throw invalid(
      "'prompt' is required: a string or an array of up to 20 strings (token arrays are not supported)",
      "prompt",
    );
  for (const key of ["suffix", "best_of", "logprobs"]) {
    if (body[key] !== undefined && body[key] !== null && !(key === "best_of" && body[key] === 1))
      throw invalid(`'${key}' is not supported by this gateway's completions`, key);
  }
  if (body.stream !== undefined && typeof body.stream !== "boolean")
    throw invalid("'stream' must be a boolean", "stream");
}

function invalid(message: string, param: string): LlmuxError {
  return new LlmuxError({ kind: "bad_request", message, param, code: "invalid_request_error" });
}

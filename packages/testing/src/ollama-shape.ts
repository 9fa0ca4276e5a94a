/**
 * Ollama shape: POST /api/chat and /api/generate (NDJSON streaming by default, a final object with
 * done: true, prompt_eval_count, eval_count and durations), POST /api/embed, GET /api/tags. Errors: {"error": "..."}.
 */
import type { Exchange } from "./exchange.js";
import { buildReply, buildUsage, embeddingVector, measureInput, PromptMeter } from "./reply.js";

const NDJSON = "application/x-ndjson";

export function writeOllamaError(exchange: Exchange, status: number, message: string): void {
  exchange.sendJson(status, { error: message });
}

/** Durations in nanoseconds, derived from the counts so they are deterministic. */
function durations(promptTokens: number, evalCount: number) {
  const promptEvalDuration = 1_000_000 + promptTokens * 100_000;
  const evalDuration = 1_000_000 + evalCount * 1_000_000;
  const loadDuration = 500_000;
  return {
    total_duration: loadDuration + promptEvalDuration + evalDuration,
    load_duration: loadDuration,
    prompt_eval_count: promptTokens,
    prompt_eval_duration: promptEvalDuration,
    eval_count: evalCount,
    eval_duration: evalDuration,
  };
}

/** POST /api/chat (mode "chat") and POST /api/generate (mode "generate"). */
export async function handleOllamaGenerate(exchange: Exchange, mode: "chat" | "generate"): Promise<void> {
  const body = exchange.body ?? {};
  const stream = body.stream !== false;
  if (!(await exchange.prelude(stream, writeOllamaError))) return;
  if (
    typeof body !== "object" ||
    (mode === "chat" ? !Array.isArray(body.messages) : typeof body.prompt !== "string")
  ) {
    writeOllamaError(exchange, 400, mode === "chat" ? "messages are required" : "prompt is required");
    return;
  }
  if (typeof body.model !== "string" || body.model.length === 0) {
    writeOllamaError(exchange, 400, "model is required");
    return;
  }
  const fault = exchange.fault;
  const meter = new PromptMeter();
  if (mode === "chat") meter.addMessages(body.messages);
  else {
    meter.addContent(body.system);
    meter.addString(body.prompt);
  }
  const numPredict = body.options?.num_predict;
  const reply = buildReply(
    meter.hash,
    exchange.settings.words,
    fault,
    typeof numPredict === "number" && numPredict >= 0 ? numPredict : undefined,
  );
  const toolCall = mode === "chat" ? fault?.toolCall : undefined;
  const usage = buildUsage(meter.tokens, toolCall ? 0 : reply.words, fault);
  if (toolCall && fault?.usage?.completion_tokens === undefined) {
    usage.completionTokens = Math.ceil(toolCall.arguments.length / 4);
  }
  const doneReason = fault?.finishReason ?? (reply.truncated ? "length" : "stop");
  const createdAt = new Date(exchange.record.receivedAt).toISOString();
  const modelJson = JSON.stringify(body.model);
  const stats = durations(usage.promptTokens, usage.completionTokens);
  const finalStats = JSON.stringify(stats).slice(1, -1);

  if (!stream) {
    if (fault?.malformed !== undefined) {
      exchange.sendJson(200, `{"model":${modelJson},"created_at":"${createdAt}","message":{`);
      return;
    }
    const result: Record<string, unknown> = { model: body.model, created_at: createdAt };
    if (mode === "chat") {
      result.message = toolCall
        ? {
            role: "assistant",
            content: "",
            tool_calls: [
              { function: { name: toolCall.name, arguments: parseArguments(toolCall.arguments) } },
            ],
          }
        : { role: "assistant", content: reply.text };
    } else {
      result.response = reply.text;
    }
    result.done = true;
    result.done_reason = doneReason;
    if (mode === "generate") result.context = [1, 2, 3];
    Object.assign(result, stats);
    exchange.sendJson(200, result);
    return;
  }

  const prefix = `{"model":${modelJson},"created_at":"${createdAt}",`;
  const chunks: string[] = [];
  if (toolCall) {
    chunks.push(
      `${prefix}"message":{"role":"assistant","content":"","tool_calls":[{"function":{"name":${JSON.stringify(toolCall.name)},"arguments":${JSON.stringify(parseArguments(toolCall.arguments))}}}]},"done":false}\n`,
    );
  } else {
    for (const piece of reply.pieces) {
      chunks.push(
        mode === "chat"
          ? `${prefix}"message":{"role":"assistant","content":${JSON.stringify(piece)}},"done":false}\n`
          : `${prefix}"response":${JSON.stringify(piece)},"done":false}\n`,
      );
    }
  }
  if (fault?.malformed !== undefined) {
    chunks.length = Math.min(chunks.length, 1);
    chunks.push(`${prefix}"message":{"role":"assistant","content":"brok\n`);
    await exchange.stream(NDJSON, chunks);
    return;
  }
  const final =
    mode === "chat"
      ? `${prefix}"message":{"role":"assistant","content":""},"done":true,"done_reason":"${doneReason}",${finalStats}}\n`
      : `${prefix}"response":"","done":true,"done_reason":"${doneReason}","context":[1,2,3],${finalStats}}\n`;
  await exchange.stream(NDJSON, chunks, final);
}

function parseArguments(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return {};
  }
}

/** POST /api/embed: `input` is a string or an array of strings; 8 dimensions unless `dimensions` is given. */
export async function handleOllamaEmbed(exchange: Exchange): Promise<void> {
  if (!(await exchange.prelude(false, writeOllamaError))) return;
  const body = exchange.body ?? {};
  const input = body.input;
  if (input === undefined || input === null) {
    writeOllamaError(exchange, 400, "input is required");
    return;
  }
  if (exchange.fault?.malformed !== undefined) {
    exchange.sendJson(200, `{"model":"x","embeddings":[[0.1,`);
    return;
  }
  const dimensions =
    typeof body.dimensions === "number" && body.dimensions > 0 ? Math.floor(body.dimensions) : 8;
  const inputs: unknown[] = Array.isArray(input) ? input : [input];
  let tokens = 0;
  const embeddings = inputs.map((item) => {
    const measured = measureInput(item);
    tokens += measured.tokens;
    return embeddingVector(measured.hash, dimensions);
  });
  exchange.sendJson(200, {
    model: body.model,
    embeddings,
    total_duration: 1_000_000 + tokens * 100_000,
    load_duration: 500_000,
    prompt_eval_count: exchange.fault?.usage?.prompt_tokens ?? tokens,
  });
}

/** GET /api/tags: the configured model ids as local models. */
export async function handleOllamaTags(exchange: Exchange, models: readonly string[]): Promise<void> {
  if (!(await exchange.prelude(false, writeOllamaError))) return;
  exchange.sendJson(200, {
    models: models.map((name) => {
      const tagged = name.includes(":") ? name : `${name}:latest`;
      return {
        name: tagged,
        model: tagged,
        modified_at: "2025-01-01T00:00:00Z",
        size: 1_000_000,
        digest: "0".repeat(64),
        details: {
          parent_model: "",
          format: "gguf",
          family: "mock",
          families: ["mock"],
          parameter_size: "1B",
          quantization_level: "Q4_K_M",
        },
      };
    }),
  });
}

import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { startMockProvider } from "./mock-provider.js";
import type { Fault, MockProvider } from "./types.js";

let mock: MockProvider;

beforeAll(async () => {
  mock = await startMockProvider({ words: 6 });
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => mock.clear());

function post(path: string, body: unknown, fault?: Fault): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (fault) headers["x-mock-fault"] = JSON.stringify(fault);
  return fetch(`${mock.url}${path}`, { method: "POST", headers, body: JSON.stringify(body) });
}

// biome-ignore lint/suspicious/noExplicitAny: NDJSON objects of the Ollama shape.
async function readNdjson(response: Response): Promise<any[]> {
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line));
}

const messages = [{ role: "user", content: "Why is the sky blue?" }];
// "Why is the sky blue?" = 20 characters → 5 prompt tokens.

describe("Ollama", () => {
  it("/api/chat streams NDJSON by default and ends with done: true and the counts", async () => {
    const response = await post("/api/chat", { model: "llama3.2", messages });
    expect(response.headers.get("content-type")).toBe("application/x-ndjson");
    const lines = await readNdjson(response);
    // 6 word lines + the final line.
    expect(lines).toHaveLength(7);
    expect(lines.slice(0, -1).every((line) => line.done === false && line.message.role === "assistant")).toBe(
      true,
    );
    const text = lines.map((line) => line.message.content).join("");
    expect(text.split(" ")).toHaveLength(6);
    const final = lines.at(-1);
    expect(final).toMatchObject({
      model: "llama3.2",
      done: true,
      done_reason: "stop",
      prompt_eval_count: 5,
      eval_count: 6,
    });
    for (const key of ["total_duration", "load_duration", "prompt_eval_duration", "eval_duration"]) {
      expect(final[key]).toBeGreaterThan(0);
    }

    // stream: false → one object with the same text.
    const single = (await (
      await post("/api/chat", { model: "llama3.2", messages, stream: false })
    ).json()) as {
      message: { content: string };
      done: boolean;
      eval_count: number;
    };
    expect(single.message.content).toBe(text);
    expect(single.done).toBe(true);
    expect(single.eval_count).toBe(6);
  });

  it("/api/chat answers a tool call with arguments as an object", async () => {
    const fault = { toolCall: { name: "get_weather", arguments: '{"city":"Oslo"}' } };
    const body = (await (
      await post("/api/chat", { model: "llama3.2", messages, stream: false }, fault)
    ).json()) as {
      message: { tool_calls: Array<{ function: { name: string; arguments: unknown } }> };
    };
    expect(body.message.tool_calls[0]!.function).toEqual({
      name: "get_weather",
      arguments: { city: "Oslo" },
    });
  });

  it("/api/generate streams response fragments and honours num_predict", async () => {
    const lines = await readNdjson(
      await post("/api/generate", {
        model: "llama3.2",
        prompt: "Why is the sky blue?",
        options: { num_predict: 3 },
      }),
    );
    expect(lines).toHaveLength(4);
    expect(
      lines
        .slice(0, -1)
        .map((line) => line.response)
        .join(""),
    ).toBe("Mock reply: " + lines[2].response.trim());
    expect(lines.at(-1)).toMatchObject({
      done: true,
      done_reason: "length",
      eval_count: 3,
      prompt_eval_count: 5,
    });
    expect(Array.isArray(lines.at(-1).context)).toBe(true);
  });

  it("/api/embed returns one vector per input", async () => {
    const body = (await (
      await post("/api/embed", { model: "nomic-embed-text", input: ["a", "b"] })
    ).json()) as {
      embeddings: number[][];
      prompt_eval_count: number;
    };
    expect(body.embeddings).toHaveLength(2);
    expect(body.embeddings[0]).toHaveLength(8);
    expect(body.embeddings[0]).not.toEqual(body.embeddings[1]);
    expect(body.prompt_eval_count).toBe(2);
  });

  it("/api/tags lists models", async () => {
    const body = (await (await fetch(`${mock.url}/api/tags`)).json()) as { models: Array<{ name: string }> };
    expect(body.models.map((model) => model.name)).toContain("mock-model:latest");
  });

  it("errors are {error} objects; malformed streams break a line", async () => {
    const response = await post("/api/chat", { model: "llama3.2", messages }, { status: 404 });
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: "Mock model not found" });

    const broken = await (
      await post("/api/chat", { model: "llama3.2", messages }, { malformed: "json" })
    ).text();
    const lines = broken.split("\n").filter((line) => line.length > 0);
    expect(() => JSON.parse(lines[0]!)).not.toThrow();
    expect(() => JSON.parse(lines[1]!)).toThrow();
  });
});

import { describe, expect, it } from "vitest";
import { parseCliOptions, runCli, USAGE } from "./cli-main.js";

describe("llmux-mock command", () => {
  it("parses flags with defaults", () => {
    expect(parseCliOptions([])).toEqual({
      help: false,
      port: 8787,
      host: "127.0.0.1",
      words: 12,
      chunkDelayMs: 0,
    });
    expect(
      parseCliOptions(["--port", "0", "--host", "0.0.0.0", "--words", "3", "--chunk-delay-ms", "5"]),
    ).toEqual({
      help: false,
      port: 0,
      host: "0.0.0.0",
      words: 3,
      chunkDelayMs: 5,
    });
    expect(() => parseCliOptions(["--port", "abc"])).toThrow(/--port must be an integer/);
    expect(() => parseCliOptions(["--nope"])).toThrow();
  });

  it("starts the server, prints its URL, and the URL answers", async () => {
    const lines: string[] = [];
    const provider = await runCli(["--port", "0", "--words", "3"], {
      log: (line) => lines.push(line),
      error: () => {},
    });
    expect(provider).toBeDefined();
    expect(lines).toEqual([provider!.url]);
    const response = await fetch(`${lines[0]}/v1/chat/completions`, {
      method: "POST",
      body: JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] }),
    });
    const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
    expect(body.choices[0]!.message.content.split(" ")).toHaveLength(3);
    await provider!.close();
  });

  it("prints usage for --help and for bad flags", async () => {
    const lines: string[] = [];
    const output = { log: (line: string) => lines.push(line), error: (line: string) => lines.push(line) };
    expect(await runCli(["--help"], output)).toBeUndefined();
    expect(lines[0]).toBe(USAGE);
    expect(await runCli(["--words", "many"], output)).toBeUndefined();
    expect(lines[1]).toContain("--words must be an integer");
    process.exitCode = 0;
  });
});

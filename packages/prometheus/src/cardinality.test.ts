/** The per-label cardinality guard: opt-in labels and model_group keep at most maxLabelValues values. */
import { describe, expect, it } from "vitest";
import { LabelGuard, OTHER_LABEL_VALUE } from "./label-guard";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, callEvent, fallbackEvent } from "./test-support/call-events";
import { parseExposition, select, sum } from "./test-support/exposition";

describe("label cardinality guard", () => {
  it("keeps the first N values of a label and folds the rest into __other__", () => {
    const guard = new LabelGuard(2);
    expect([
      guard.value("a"),
      guard.value("b"),
      guard.value("c"),
      guard.value("a"),
      guard.value("d"),
    ]).toEqual(["a", "b", OTHER_LABEL_VALUE, "a", OTHER_LABEL_VALUE]);
    expect(guard.value(undefined)).toBe("");
    expect(guard.value("")).toBe("");
    expect(guard.size).toBe(2);
    expect(guard.overflowed).toBe(2);
  });

  it("limits user, team and model_group series across the metrics", async () => {
    const plugin = prometheusPlugin({ userLabels: true, teamLabels: true, maxLabelValues: 3 });
    // 10 calls from 10 users in 2 teams, each asking for a different model group (unknown groups
    // come from client input, so model_group is guarded too).
    for (let index = 0; index < 10; index += 1) {
      plugin.sink.onSuccess!(
        callEvent({
          callId: `call-${index}`,
          user: `user-${index}`,
          team: `team-${index % 2}`,
          modelGroup: `group-${index}`,
          attempts: [attempt({ deploymentId: "d1", modelGroup: `group-${index}` })],
          usage: {
            inputTokens: 1,
            cachedInputTokens: 0,
            cacheCreationInputTokens: 0,
            outputTokens: 1,
            reasoningTokens: 0,
            totalTokens: 2,
          },
        }),
      );
    }
    // Then each of those calls falls back to "claude": one guard serves model_group everywhere, so
    // "claude" (an 11th group) is folded too.
    for (let index = 0; index < 10; index += 1) {
      plugin.sink.onFallback!(
        fallbackEvent({ callId: `call-${index}`, fromGroup: `group-${index}`, toGroup: "claude" }),
      );
    }
    const samples = parseExposition(await plugin.registry.metrics());
    const requests = select(samples, "llmux_requests_total");
    const users = new Set(requests.map((sample) => sample.labels["user"]));
    const teams = new Set(requests.map((sample) => sample.labels["team"]));
    const groups = new Set(requests.map((sample) => sample.labels["model_group"]));
    console.log("10 users / 2 teams / 10 groups with maxLabelValues 3 ->", { users, teams, groups });
    expect(users).toEqual(new Set(["user-0", "user-1", "user-2", OTHER_LABEL_VALUE]));
    expect(teams).toEqual(new Set(["team-0", "team-1"]));
    expect(groups).toEqual(new Set(["group-0", "group-1", "group-2", OTHER_LABEL_VALUE]));
    // Nothing is lost: the folded calls are still counted.
    expect(sum(samples, "llmux_requests_total")).toBe(10);
    expect(sum(samples, "llmux_requests_total", { user: OTHER_LABEL_VALUE })).toBe(7);
    expect(sum(samples, "llmux_tokens_total", { type: "input", user: OTHER_LABEL_VALUE })).toBe(7);
    const fallbacks = select(samples, "llmux_fallbacks_total");
    expect(new Set(fallbacks.map((sample) => sample.labels["model_group"]))).toEqual(groups);
    expect(new Set(fallbacks.map((sample) => sample.labels["fallback_model_group"]))).toEqual(
      new Set([OTHER_LABEL_VALUE]),
    );
    expect(sum(samples, "llmux_fallbacks_total")).toBe(10);
  });

  it("rejects a maxLabelValues that is not a positive integer", () => {
    expect(() => prometheusPlugin({ maxLabelValues: 0 })).toThrow(/maxLabelValues/);
    expect(() => prometheusPlugin({ maxLabelValues: 1.5 })).toThrow(
      expect.objectContaining({ kind: "llmux.prometheus.invalid_option" }),
    );
  });
});

/** The host's own prom-client registry: llmux metrics join it, sharing and conflicts are handled. */
import { Counter, register as globalRegister, Registry } from "prom-client";
import { afterEach, describe, expect, it } from "vitest";
import { isPrometheusError } from "./errors";
import { prometheusPlugin } from "./prometheus-plugin";
import { attempt, callEvent } from "./test-support/call-events";
import { declaredMetricNames, parseExposition, sum } from "./test-support/exposition";

afterEach(() => {
  globalRegister.clear();
});

describe("host registry", () => {
  it("registers the llmux metrics next to the host's own metrics", async () => {
    const hostRegistry = new Registry();
    const hostCounter = new Counter({ name: "shop_orders_total", help: "orders", registers: [hostRegistry] });
    hostCounter.inc(3);
    const plugin = prometheusPlugin({ registry: hostRegistry });
    expect(plugin.registry).toBe(hostRegistry);
    plugin.sink.onSuccess!(callEvent({ callId: "a", attempts: [attempt({ deploymentId: "east" })] }));

    const text = await hostRegistry.metrics();
    const samples = parseExposition(text);
    expect(sum(samples, "shop_orders_total")).toBe(3);
    expect(sum(samples, "llmux_requests_total")).toBe(1);
  });

  it("uses prom-client's global registry when the host passes it, and shares it between two plugins", async () => {
    const first = prometheusPlugin({ registry: globalRegister });
    const second = prometheusPlugin({ registry: globalRegister });
    first.sink.onSuccess!(callEvent({ callId: "a", attempts: [attempt({ deploymentId: "east" })] }));
    second.sink.onSuccess!(callEvent({ callId: "b", attempts: [attempt({ deploymentId: "east" })] }));
    const samples = parseExposition(await globalRegister.metrics());
    console.log(
      "two plugins on the global registry, one call each -> requests",
      sum(samples, "llmux_requests_total"),
    );
    expect(sum(samples, "llmux_requests_total")).toBe(2);
  });

  it("refuses a second plugin with different label options on the same registry and prefix", () => {
    const registry = new Registry();
    prometheusPlugin({ registry });
    let thrown: unknown;
    try {
      prometheusPlugin({ registry, userLabels: true });
    } catch (error) {
      thrown = error;
    }
    expect(isPrometheusError(thrown)).toBe(true);
    expect((thrown as { kind: string }).kind).toBe("llmux.prometheus.metric_conflict");
    // Another prefix in the same registry is fine.
    const other = prometheusPlugin({ registry, userLabels: true, prefix: "tenant_a_llmux_" });
    expect(other.registry).toBe(registry);
  });

  it("names the clashing metric when the host already has one with an llmux name", () => {
    const registry = new Registry();
    new Counter({ name: "llmux_requests_total", help: "the host's own", registers: [registry] });
    expect(() => prometheusPlugin({ registry })).toThrow(/llmux_requests_total.*prefix/);
  });

  it("adds prom-client's process metrics when asked, once per registry", async () => {
    const registry = new Registry();
    prometheusPlugin({ registry, processMetrics: true });
    prometheusPlugin({ registry, processMetrics: true });
    const names = declaredMetricNames(await registry.metrics());
    expect(names.get("process_cpu_user_seconds_total")).toBe("counter");
    expect(names.get("nodejs_eventloop_lag_seconds")).toBe("gauge");
    expect(names.get("llmux_requests_total")).toBe("counter");
  });

  it("keeps its own registry by default, leaving the global one untouched", async () => {
    const plugin = prometheusPlugin();
    expect(plugin.registry).not.toBe(globalRegister);
    expect(await globalRegister.metrics()).not.toContain("llmux_");
  });
});

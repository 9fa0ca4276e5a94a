import type { CooldownEvent, FallbackEvent } from "@llmux/callbacks";
import { describe, expect, it } from "vitest";
import type { Deployment } from "../config/types";
import { LlmuxError } from "../errors/llmux-error";
import { ClientAbort } from "../gateway/client-abort";
import { type RouteRequest, Router, type RouterOptions } from "./router";
import { deployment, ManualClock, seededRandom, settings } from "./test-support";

function setup(deployments: Deployment[], extra: Partial<RouterOptions> = {}) {
  const clock = new ManualClock();
  const sleeps: number[] = [];
  const cooldowns: CooldownEvent[] = [];
  const router = new Router({
    deployments,
    settings: settings(),
    clock,
    random: seededRandom(7),
    sleep: async (milliseconds) => {
      sleeps.push(milliseconds);
      clock.advance(milliseconds);
    },
    onCooldown: (event) => cooldowns.push(event),
    ...extra,
  });
  return { router, clock, sleeps, cooldowns };
}

function request(group: string, extra: Partial<RouteRequest> = {}): RouteRequest {
  return {
    callId: "c1",
    modelGroup: group,
    stream: false,
    estimatedInputTokens: 10,
    estimatedOutputTokens: 10,
    signal: new AbortController().signal,
    ...extra,
  };
}

const upstream = (status: number, retryAfterMs?: number) =>
  new LlmuxError({
    kind: status === 429 ? "rate_limit" : status >= 500 ? "server_error" : "bad_request",
    upstreamStatus: status,
    message: `HTTP ${status}`,
    ...(retryAfterMs ? { retryAfterMs } : {}),
  });

/** Runs a call where each deployment answers per `behaviour`; returns the deployments tried in order. */
async function run(
  router: Router,
  routeRequest: RouteRequest,
  behaviour: (id: string, attempt: number) => LlmuxError | undefined,
) {
  const tried: string[] = [];
  const fallbacks: FallbackEvent[] = [];
  try {
    const result = await router.route(
      { ...routeRequest, onFallback: (event) => fallbacks.push(event) },
      async (attempt) => {
        tried.push(attempt.deployment.id);
        const error = behaviour(attempt.deployment.id, tried.length);
        if (error) throw error;
        return attempt.deployment.id;
      },
    );
    result.attempt.finish("success");
    return { tried, fallbacks, value: result.value, error: undefined };
  } catch (error) {
    return { tried, fallbacks, value: undefined, error: error as LlmuxError };
  }
}

describe("retries", () => {
  it("a 400 is one attempt, returned as 400, no fallback", async () => {
    const { router } = setup([deployment("a", "g"), deployment("b", "g")], {
      settings: settings({ fallbacks: { g: ["f"] } }),
    });
    const outcome = await run(router, request("g"), () => upstream(400));
    expect(outcome.tried).toHaveLength(1);
    expect(outcome.error?.status).toBe(400);
    expect(outcome.fallbacks).toHaveLength(0);
  });

  it("retry_policy can allow retrying a 400", async () => {
    const { router } = setup([deployment("a", "g")], {
      settings: settings({ retryPolicy: { bad_request: 1 } }),
    });
    const outcome = await run(router, request("g"), () => upstream(400));
    expect(outcome.tried).toEqual(["a", "a"]);
  });

  it("retries on another healthy deployment at once, without sleeping", async () => {
    const { router, sleeps } = setup([deployment("a", "g"), deployment("b", "g")]);
    const outcome = await run(router, request("g"), (id) => (id === "a" ? upstream(500) : undefined));
    expect(outcome.value).toBe("b");
    expect(sleeps).toEqual([]);
  });

  it("backs off (honouring retry-after) when the group has no other deployment", async () => {
    const { router, sleeps } = setup([deployment("a", "g")], { settings: settings({ allowedFails: 99 }) });
    const outcome = await run(router, request("g"), (_id, attempt) =>
      attempt === 1 ? upstream(503, 1_500) : undefined,
    );
    expect(outcome.value).toBe("a");
    expect(sleeps).toEqual([1_500]);
  });

  it("one attempt budget: retries do not restart on each fallback", async () => {
    const deployments = [deployment("p1", "primary"), deployment("f1", "fallback"), deployment("g1", "last")];
    const { router } = setup(deployments, {
      settings: settings({
        numRetries: 2,
        allowedFails: 99,
        fallbacks: { primary: ["fallback"], fallback: ["last"] },
      }),
    });
    const outcome = await run(router, request("primary"), () => upstream(500));
    // 1 + 2 retries on the primary, then one attempt per fallback group: 5, not 3 × 3 = 9
    expect(outcome.tried).toEqual(["p1", "p1", "p1", "f1", "g1"]);
    expect(outcome.fallbacks.map((event) => event.toGroup)).toEqual(["fallback", "last"]);
    expect(outcome.error?.status).toBe(502);
  });

  it("500s on the primary group fall back with no client error and exactly the configured attempts", async () => {
    const { router } = setup([deployment("p1", "primary"), deployment("f1", "fallback")], {
      settings: settings({ numRetries: 1, allowedFails: 99, fallbacks: { primary: ["fallback"] } }),
    });
    const outcome = await run(router, request("primary"), (id) => (id === "p1" ? upstream(500) : undefined));
    expect(outcome.value).toBe("f1");
    expect(outcome.tried).toEqual(["p1", "p1", "f1"]);
  });

  it("max_fallbacks bounds the fallback chain; request-level fallbacks win", async () => {
    const deployments = [deployment("p", "primary"), deployment("x", "x"), deployment("y", "y")];
    const { router } = setup(deployments, {
      settings: settings({ numRetries: 0, maxFallbacks: 1, fallbacks: { primary: ["x"], x: ["y"] } }),
    });
    const outcome = await run(router, request("primary", { fallbacks: ["y"] }), () => upstream(500));
    expect(outcome.tried).toEqual(["p", "y"]);
  });
});

describe("cooldowns", () => {
  it("a 429 cools the deployment for its retry-after; it returns afterwards", async () => {
    const { router, clock, cooldowns } = setup([deployment("a", "g"), deployment("b", "g")]);
    const first = await run(router, request("g"), (id) => (id === "a" ? upstream(429, 30_000) : undefined));
    expect(first.value).toBe("b");
    expect(cooldowns).toHaveLength(1);
    expect(cooldowns[0]).toMatchObject({
      deploymentId: "a",
      reason: "rate_limit",
      until: clock.now() + 30_000,
    });
    const during = new Set<string>();
    for (let index = 0; index < 20; index++)
      during.add((await run(router, request("g"), () => undefined)).value!);
    expect([...during]).toEqual(["b"]);
    clock.advance(30_001);
    const after = new Set<string>();
    for (let index = 0; index < 40; index++)
      after.add((await run(router, request("g"), () => undefined)).value!);
    expect([...after].sort()).toEqual(["a", "b"]);
  });

  it("allowed_fails failures within a minute cool a deployment", async () => {
    const { router, cooldowns } = setup([deployment("a", "g")], {
      settings: settings({ numRetries: 0, allowedFails: 2 }),
    });
    await run(router, request("g"), () => upstream(500));
    expect(cooldowns).toHaveLength(0);
    await run(router, request("g"), () => upstream(500));
    expect(cooldowns).toHaveLength(1);
  });

  it("401 and 404 from the upstream cool the deployment at once", async () => {
    const { router, cooldowns } = setup([deployment("a", "g"), deployment("b", "g")]);
    await run(router, request("g"), (id) =>
      id === "a"
        ? new LlmuxError({ kind: "authentication", upstreamStatus: 401, message: "bad key", status: 502 })
        : undefined,
    );
    expect(cooldowns.map((event) => event.deploymentId)).toEqual(["a"]);
  });

  it("every deployment cooling → one clear 503 naming the group and when it recovers", async () => {
    const { router, clock } = setup([deployment("a", "g")], {
      settings: settings({ numRetries: 0, allowedFails: 1, cooldownTimeMs: 20_000 }),
    });
    await run(router, request("g"), () => upstream(500));
    const outcome = await run(router, request("g"), () => undefined);
    expect(outcome.tried).toEqual([]);
    expect(outcome.error?.status).toBe(503);
    expect(outcome.error?.message).toContain("'g'");
    expect(outcome.error?.message).toContain("20 s");
    expect(outcome.error?.retryAfterMs).toBe(20_000);
    clock.advance(20_001);
    expect((await run(router, request("g"), () => undefined)).value).toBe("a");
  });

  it("with a fallback, a fully cooled group falls back without an attempt", async () => {
    const { router } = setup([deployment("a", "g"), deployment("f", "fb")], {
      settings: settings({ numRetries: 0, allowedFails: 1, fallbacks: { g: ["fb"] } }),
    });
    await run(router, request("g"), (id) => (id === "a" ? upstream(500) : undefined));
    const outcome = await run(router, request("g"), () => undefined);
    expect(outcome.tried).toEqual(["f"]);
  });
});

describe("a request's own failures do not cool the group", () => {
  it("a request that fails with the same 500 on every deployment charges none of them", async () => {
    // Two deployments, allowed_fails 1: before, two malformed calls (500 everywhere) cooled both and
    // the next good call got 503.
    const { router, cooldowns } = setup([deployment("a", "g"), deployment("b", "g")], {
      settings: settings({ numRetries: 1, allowedFails: 1 }),
    });
    for (let index = 0; index < 2; index++) {
      const bad = await run(router, request("g"), () => upstream(500));
      expect(bad.tried.sort()).toEqual(["a", "b"]);
      expect(bad.error?.upstreamStatus).toBe(500);
    }
    expect(cooldowns).toEqual([]);
    expect((await run(router, request("g"), () => undefined)).error).toBeUndefined();
  });

  it("retries of one request on one deployment count once against allowed_fails", async () => {
    const { router, cooldowns } = setup([deployment("a", "g")], {
      settings: settings({ numRetries: 3, allowedFails: 2 }),
    });
    const outcome = await run(router, request("g"), () => upstream(500));
    expect(outcome.tried).toEqual(["a", "a", "a", "a"]);
    expect(cooldowns).toEqual([]);
    // A second failing request is a second failure: now the deployment cools.
    await run(router, request("g"), () => upstream(500));
    expect(cooldowns.map((event) => event.deploymentId)).toEqual(["a"]);
  });

  it("a deployment that fails where another one answers the same request is charged", async () => {
    const { router, cooldowns } = setup([deployment("a", "g"), deployment("b", "g")], {
      settings: settings({ allowedFails: 1 }),
    });
    let outcome = await run(router, request("g"), (id) => (id === "a" ? upstream(500) : undefined));
    // simple-shuffle may pick b first: run until a was tried.
    for (let index = 0; index < 20 && !outcome.tried.includes("a"); index++)
      outcome = await run(router, request("g"), (id) => (id === "a" ? upstream(500) : undefined));
    expect(outcome.value).toBe("b");
    expect(cooldowns.map((event) => event.deploymentId)).toEqual(["a"]);
  });

  it("different errors on different deployments still charge each deployment", async () => {
    const { router, cooldowns } = setup([deployment("a", "g"), deployment("b", "g")], {
      settings: settings({ numRetries: 1, allowedFails: 1 }),
    });
    await run(router, request("g"), (id) => (id === "a" ? upstream(500) : upstream(503)));
    expect(cooldowns.map((event) => event.deploymentId).sort()).toEqual(["a", "b"]);
  });
});

describe("selection", () => {
  it("tries lower `order` first, higher orders only when those failed", async () => {
    const { router } = setup(
      [deployment("second", "g", { order: 2 }), deployment("first", "g", { order: 1 })],
      { settings: settings({ allowedFails: 99 }) },
    );
    const outcome = await run(router, request("g"), (id) => (id === "first" ? upstream(500) : undefined));
    expect(outcome.tried).toEqual(["first", "second"]);
  });

  it("the pre-call context check routes to context_window_fallbacks", async () => {
    const { router } = setup(
      [deployment("small", "g", { maxInputTokens: 1000 }), deployment("long", "g-long")],
      { settings: settings({ contextWindowFallbacks: { g: ["g-long"] } }) },
    );
    const outcome = await run(router, request("g", { estimatedInputTokens: 5000 }), () => undefined);
    expect(outcome.tried).toEqual(["long"]);
    expect(outcome.fallbacks[0]).toMatchObject({
      fromGroup: "g",
      toGroup: "g-long",
      reason: "context_window_exceeded",
    });
  });

  it("the provider's own context error also uses context_window_fallbacks (and not plain fallbacks)", async () => {
    const { router } = setup(
      [deployment("a", "g"), deployment("long", "g-long"), deployment("other", "other")],
      {
        settings: settings({ contextWindowFallbacks: { g: ["g-long"] }, fallbacks: { g: ["other"] } }),
      },
    );
    const outcome = await run(router, request("g"), (id) =>
      id === "a"
        ? new LlmuxError({ kind: "context_window_exceeded", message: "too long", upstreamStatus: 400 })
        : undefined,
    );
    expect(outcome.tried).toEqual(["a", "long"]);
  });

  it("model group aliases resolve; an unknown group is a 404", async () => {
    const { router } = setup([deployment("a", "real")], {
      settings: settings({ modelGroupAlias: { nick: "real" } }),
    });
    expect((await run(router, request("nick"), () => undefined)).value).toBe("a");
    expect((await run(router, request("ghost"), () => undefined)).error?.status).toBe(404);
  });

  it("rpm limits: a deployment at its limit is skipped; all at limit → 429", async () => {
    const { router } = setup([deployment("a", "g", { rpm: 1 }), deployment("b", "g", { rpm: 1 })]);
    const first = await run(router, request("g"), () => undefined);
    const second = await run(router, request("g"), () => undefined);
    expect(new Set([first.value, second.value])).toEqual(new Set(["a", "b"]));
    const third = await run(router, request("g"), () => undefined);
    expect(third.error?.status).toBe(429);
  });

  it("max_parallel_requests: waits a bounded time for a slot, then 429", async () => {
    const { router } = setup([deployment("a", "g", { maxParallelRequests: 1 })], {
      clock: { now: () => Date.now() },
      settings: settings({ maxParallelWaitMs: 50 }),
    });
    let release!: () => void;
    const held = router.route(
      request("g"),
      (attempt) => new Promise<string>((resolve) => (release = () => resolve(attempt.deployment.id))),
    );
    await new Promise((resolve) => setImmediate(resolve)); // the first call now holds the only slot
    expect(router.inFlight("a")).toBe(1);
    const started = Date.now();
    const blocked = await run(router, request("g"), () => undefined);
    expect(blocked.error?.status).toBe(429);
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    // a slot freed while waiting is taken
    const waiting = run(router, request("g"), () => undefined);
    release();
    (await held).attempt.finish("success");
    expect((await waiting).value).toBe("a");
  });

  it("a custom strategy function decides", async () => {
    const { router } = setup([deployment("a", "g"), deployment("b", "g")], {
      strategy: (candidates) => candidates.find((candidate) => candidate.id === "b")!,
    });
    for (let index = 0; index < 10; index++)
      expect((await run(router, request("g"), () => undefined)).value).toBe("b");
  });
});

describe("timeouts", () => {
  it("an attempt that exceeds the deployment timeout is aborted with a 504 and retried/fallen back", async () => {
    const { router } = setup([deployment("slow", "g", { timeoutMs: 30 }), deployment("fast", "fb")], {
      clock: { now: () => Date.now() },
      settings: settings({ numRetries: 0, fallbacks: { g: ["fb"] } }),
    });
    const tried: string[] = [];
    const result = await router.route(request("g"), (attempt) => {
      tried.push(attempt.deployment.id);
      if (attempt.deployment.id === "fast") return Promise.resolve("ok");
      return new Promise((_resolve, reject) =>
        attempt.signal.addEventListener("abort", () => reject(attempt.signal.reason)),
      );
    });
    expect(tried).toEqual(["slow", "fast"]);
    expect(result.attempts[0]!.error).toMatchObject({ type: "timeout", status: 504 });
  });

  it("stream_timeout bounds the wait for the first chunk", async () => {
    const { router } = setup([deployment("s", "g", { streamTimeoutMs: 20, timeoutMs: 10_000 })], {
      clock: { now: () => Date.now() },
      settings: settings({ numRetries: 0 }),
    });
    const started = Date.now();
    const outcome = await router
      .route(
        request("g", { stream: true }),
        (attempt) =>
          new Promise((_resolve, reject) =>
            attempt.signal.addEventListener("abort", () => reject(attempt.signal.reason)),
          ),
      )
      .catch((error: LlmuxError) => error);
    expect((outcome as LlmuxError).kind).toBe("timeout");
    expect((outcome as LlmuxError).message).toContain("stream_timeout");
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("client disconnect through a ClientAbort (no AbortSignal for the call)", () => {
  it("aborts the running attempt's signal, stops without retrying, and makes no call-level AbortSignal", async () => {
    const { router } = setup([deployment("a", "g"), deployment("b", "g")], {
      settings: settings({ numRetries: 3 }),
    });
    const clientAbort = new ClientAbort();
    let signalRead = false;
    const routeRequest = request("g", { clientAbort });
    Object.defineProperty(routeRequest, "signal", {
      get: () => {
        signalRead = true;
        return clientAbort.signal;
      },
    });
    const tried: string[] = [];
    const outcome = router
      .route(routeRequest, (attempt) => {
        tried.push(attempt.deployment.id);
        return new Promise((_resolve, reject) =>
          attempt.signal.addEventListener("abort", () => reject(attempt.signal.reason)),
        );
      })
      .catch((error: LlmuxError) => error);
    await new Promise((resolve) => setTimeout(resolve, 5));
    clientAbort.abort();
    expect(((await outcome) as LlmuxError).kind).toBe("aborted");
    expect(tried).toHaveLength(1);
    expect(signalRead).toBe(false);
  });

  it("a finished attempt stops listening; a signal asked for after the client left is already aborted", async () => {
    const { router } = setup([deployment("a", "g")]);
    const clientAbort = new ClientAbort();
    const routed = await router.route(request("g", { clientAbort }), async () => "ok");
    routed.attempt.finish("success");
    clientAbort.abort();
    expect(routed.attempt.signal.aborted).toBe(false);
    expect(clientAbort.signal.aborted).toBe(true);
    let calls = 0;
    clientAbort.onAbort(() => calls++);
    clientAbort.abort();
    expect(calls).toBe(1);
  });
});

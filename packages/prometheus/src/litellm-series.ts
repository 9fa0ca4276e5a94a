/**
 * The LiteLLM-named series a call updates, bound once per label set as the llmux names are
 * (bound-series.ts): a call's label values select its bound call series (requests, failures,
 * latencies, tokens, spend), each of its attempts a bound deployment series (total, success and
 * failure responses, latency per output token), each attempt event a bound deployment-state setter.
 * A series builds a metric's label object on its first write to that metric, with the labels in
 * the order the per-call label objects had (the exposition lists them in that order), and then
 * writes prom-client's series directly (observerOf, incrementerOf, setterOf).
 *
 * Each kind of binding is cached by its values' key (bindingKey: no two label sets share one), at
 * most `limit` keys per kind (BoundSeriesCache: past the cap the bindings start afresh), and the
 * last one used is found again by comparing the values, without building the key.
 */
import type { AttemptRecord } from "@llmux/callbacks";
import { incrementerOf } from "./bound-counter";
import { type Setter, setterOf } from "./bound-gauge";
import { BoundSeriesCache, observerOf } from "./bound-series";
import type { LitellmMetrics } from "./litellm-metrics";
import { bindingKey } from "./series-key";

type Labels = Record<string, string>;

/** A bound counter increment or histogram observation. */
export type Writer = (value: number) => void;

/** Label sets bound at most, per kind of binding; past it the bindings of that kind start afresh. */
export const MAX_BOUND_LABEL_SETS = 10_000;

/** The deployment an attempt went to, as LiteLLM's deployment labels name it. */
export type DeploymentValues = Pick<AttemptRecord, "provider" | "model" | "deploymentId" | "apiBase">;

/** The label values of a call's own metrics: LiteLLM's caller labels (guarded), model and outcome. */
export interface CallLabelValues {
  end_user: string;
  hashed_api_key: string;
  api_key_alias: string;
  team: string;
  team_alias: string;
  user: string;
  requested_model: string;
  model: string;
  status_code: string;
  /** LiteLLM's exception class of a failed call; "" for a success. */
  exception_class: string;
  success: boolean;
}

function sameCallValues(a: CallLabelValues, b: CallLabelValues): boolean {
  return (
    a.end_user === b.end_user &&
    a.hashed_api_key === b.hashed_api_key &&
    a.api_key_alias === b.api_key_alias &&
    a.team === b.team &&
    a.team_alias === b.team_alias &&
    a.user === b.user &&
    a.requested_model === b.requested_model &&
    a.model === b.model &&
    a.status_code === b.status_code &&
    a.exception_class === b.exception_class &&
    a.success === b.success
  );
}

/** prom-client creates a series on its first write, and only then needs its label object. */
function onFirstUse(create: () => Writer): Writer {
  let write: Writer | undefined;
  return (value) => {
    write ??= create();
    write(value);
  };
}

function callerLabels(values: CallLabelValues): Labels {
  return {
    end_user: values.end_user,
    hashed_api_key: values.hashed_api_key,
    api_key_alias: values.api_key_alias,
    team: values.team,
    team_alias: values.team_alias,
    user: values.user,
  };
}

function keyTeamLabels(values: CallLabelValues): Labels {
  return {
    hashed_api_key: values.hashed_api_key,
    api_key_alias: values.api_key_alias,
    team: values.team,
    team_alias: values.team_alias,
  };
}

function deploymentLabels(deployment: DeploymentValues): Labels {
  return {
    litellm_model_name: `${deployment.provider}/${deployment.model}`,
    model_id: deployment.deploymentId,
    api_base: deployment.apiBase ?? "",
    api_provider: deployment.provider,
  };
}

function sameDeployment(deployment: DeploymentValues, other: DeploymentValues): boolean {
  return (
    deployment.deploymentId === other.deploymentId &&
    deployment.provider === other.provider &&
    deployment.model === other.model &&
    (deployment.apiBase ?? "") === (other.apiBase ?? "")
  );
}

/** The deployment's values alone (not the attempt record that carried them, kept by the binding). */
function deploymentValues(deployment: DeploymentValues): DeploymentValues {
  return {
    provider: deployment.provider,
    model: deployment.model,
    deploymentId: deployment.deploymentId,
    apiBase: deployment.apiBase ?? "",
  };
}

function deploymentKey(deployment: DeploymentValues): string {
  return bindingKey(deployment.provider, deployment.model, deployment.deploymentId, deployment.apiBase ?? "");
}

/** The metrics of one call label set. */
export class LitellmCallSeries {
  readonly totalRequests: Writer;
  readonly failedRequests: Writer;
  readonly totalLatency: Writer;
  readonly requests: Writer;
  readonly overheadLatency: Writer;
  readonly apiLatency: Writer;
  readonly timeToFirstToken: Writer;
  readonly inputTokens: Writer;
  readonly outputTokens: Writer;
  readonly totalTokens: Writer;
  readonly spend: Writer;
  /** The start of the keys of this call's deployment series: requested model and key/team. */
  readonly deploymentKeyPrefix: string;
  /** The deployment series last used by a call of this label set: the next one mostly uses it too. */
  lastDeployment: LitellmDeploymentSeries | undefined;

  constructor(
    metrics: LitellmMetrics,
    readonly values: CallLabelValues,
  ) {
    const requested = values.requested_model;
    const model = values.model;
    const latencyLabels = (): Labels => ({ ...callerLabels(values), requested_model: requested, model });
    const tokenLabels = (): Labels => ({ ...callerLabels(values), model, requested_model: requested });
    this.totalRequests = onFirstUse(() =>
      incrementerOf(metrics.proxyTotalRequests, {
        ...callerLabels(values),
        requested_model: requested,
        status_code: values.status_code,
      }),
    );
    this.failedRequests = onFirstUse(() =>
      incrementerOf(metrics.proxyFailedRequests, {
        ...callerLabels(values),
        requested_model: requested,
        exception_status: values.status_code,
        exception_class: values.exception_class,
      }),
    );
    this.totalLatency = onFirstUse(() => observerOf(metrics.requestTotalLatency, latencyLabels()));
    this.requests = onFirstUse(() => incrementerOf(metrics.requests, { ...callerLabels(values), model }));
    this.overheadLatency = onFirstUse(() => observerOf(metrics.overheadLatency, latencyLabels()));
    this.apiLatency = onFirstUse(() => observerOf(metrics.llmApiLatency, latencyLabels()));
    this.timeToFirstToken = onFirstUse(() =>
      observerOf(metrics.timeToFirstToken, { model, ...keyTeamLabels(values) }),
    );
    this.inputTokens = onFirstUse(() => incrementerOf(metrics.inputTokens, tokenLabels()));
    this.outputTokens = onFirstUse(() => incrementerOf(metrics.outputTokens, tokenLabels()));
    this.totalTokens = onFirstUse(() => incrementerOf(metrics.totalTokens, tokenLabels()));
    this.spend = onFirstUse(() => incrementerOf(metrics.spend, { ...callerLabels(values), model }));
    this.deploymentKeyPrefix = bindingKey(
      requested,
      values.hashed_api_key,
      values.api_key_alias,
      values.team,
      values.team_alias,
    );
  }
}

/** The metrics of one attempt label set: requested model, deployment and key/team. */
export class LitellmDeploymentSeries {
  readonly total: Writer;
  readonly success: Writer;
  readonly latencyPerOutputToken: Writer;
  /** The failure series last used for this deployment series. */
  lastFailure: LitellmFailureSeries | undefined;

  constructor(
    metrics: LitellmMetrics,
    /** The values of the call that bound it; only the requested model and key/team labels count. */
    readonly call: CallLabelValues,
    readonly deployment: DeploymentValues,
    readonly key: string,
  ) {
    // one label object for the total and success counters, as the per-call code shared it
    let labels: Labels | undefined;
    const attemptLabels = (): Labels => {
      labels ??= {
        requested_model: call.requested_model,
        ...deploymentLabels(deployment),
        ...keyTeamLabels(call),
      };
      return labels;
    };
    this.total = onFirstUse(() => incrementerOf(metrics.deploymentTotal, attemptLabels()));
    this.success = onFirstUse(() => incrementerOf(metrics.deploymentSuccess, attemptLabels()));
    this.latencyPerOutputToken = onFirstUse(() =>
      observerOf(metrics.latencyPerOutputToken, { ...deploymentLabels(deployment), ...keyTeamLabels(call) }),
    );
  }
}

/** The failure responses of one attempt label set with one exception status and class. */
export class LitellmFailureSeries {
  readonly write: Writer;

  constructor(
    metrics: LitellmMetrics,
    readonly attempt: LitellmDeploymentSeries,
    readonly status: string,
    readonly exceptionClass: string,
  ) {
    this.write = onFirstUse(() =>
      incrementerOf(metrics.deploymentFailure, {
        requested_model: attempt.call.requested_model,
        ...deploymentLabels(attempt.deployment),
        ...keyTeamLabels(attempt.call),
        exception_status: status,
        exception_class: exceptionClass,
      }),
    );
  }
}

/** The deployment-state gauge of one deployment. */
class LitellmStateSeries {
  readonly set: Setter;

  constructor(
    metrics: LitellmMetrics,
    readonly deployment: DeploymentValues,
  ) {
    this.set = setterOf(metrics.deploymentState, deploymentLabels(deployment));
  }
}

/** The bound series of one LiteLLM-named sink, found by their label values. */
export class LitellmSeries {
  readonly #metrics: LitellmMetrics;
  readonly #calls: BoundSeriesCache<LitellmCallSeries>;
  readonly #attempts: BoundSeriesCache<LitellmDeploymentSeries>;
  readonly #failures: BoundSeriesCache<LitellmFailureSeries>;
  readonly #states: BoundSeriesCache<LitellmStateSeries>;
  #lastCall: LitellmCallSeries | undefined;
  #lastState: LitellmStateSeries | undefined;

  constructor(metrics: LitellmMetrics, limit = MAX_BOUND_LABEL_SETS) {
    this.#metrics = metrics;
    // Nothing is held back from prom-client: dropping the bindings loses no count.
    const none = (): void => undefined;
    this.#calls = new BoundSeriesCache(limit, none);
    this.#attempts = new BoundSeriesCache(limit, none);
    this.#failures = new BoundSeriesCache(limit, none);
    this.#states = new BoundSeriesCache(limit, none);
  }

  /** Label sets bound now, all kinds together. */
  get size(): number {
    return this.#calls.size + this.#attempts.size + this.#failures.size + this.#states.size;
  }

  /** The series of a call's label values. */
  call(values: CallLabelValues): LitellmCallSeries {
    const last = this.#lastCall;
    if (last !== undefined && sameCallValues(last.values, values)) return last;
    const key = bindingKey(
      values.end_user,
      values.hashed_api_key,
      values.api_key_alias,
      values.team,
      values.team_alias,
      values.user,
      values.requested_model,
      values.model,
      values.status_code,
      values.exception_class,
      values.success ? "1" : "0",
    );
    const series = this.#calls.get(key, () => new LitellmCallSeries(this.#metrics, values));
    this.#lastCall = series;
    return series;
  }

  /** The series of an attempt of a call. */
  attempt(call: LitellmCallSeries, deployment: DeploymentValues): LitellmDeploymentSeries {
    const last = call.lastDeployment;
    if (last !== undefined && sameDeployment(last.deployment, deployment)) return last;
    const key = call.deploymentKeyPrefix + deploymentKey(deployment);
    const series = this.#attempts.get(
      key,
      () => new LitellmDeploymentSeries(this.#metrics, call.values, deploymentValues(deployment), key),
    );
    call.lastDeployment = series;
    return series;
  }

  /** The failure-response series of an attempt with an exception status and class. */
  failure(attempt: LitellmDeploymentSeries, status: string, exceptionClass: string): Writer {
    const last = attempt.lastFailure;
    if (last !== undefined && last.status === status && last.exceptionClass === exceptionClass)
      return last.write;
    const series = this.#failures.get(
      attempt.key + bindingKey(status, exceptionClass),
      () => new LitellmFailureSeries(this.#metrics, attempt, status, exceptionClass),
    );
    attempt.lastFailure = series;
    return series.write;
  }

  /** The deployment-state setter of a deployment. */
  state(deployment: DeploymentValues): Setter {
    const last = this.#lastState;
    if (last !== undefined && sameDeployment(last.deployment, deployment)) return last.set;
    const series = this.#states.get(
      deploymentKey(deployment),
      () => new LitellmStateSeries(this.#metrics, deploymentValues(deployment)),
    );
    this.#lastState = series;
    return series.set;
  }
}

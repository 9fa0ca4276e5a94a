/**
 * The last known state of each deployment, for `llmux_deployment_state` (0 healthy, 1 cooling).
 * A cooling deployment whose `until` has passed reads as healthy even if the router never
 * reported the transition back.
 */
export type DeploymentStateLabels = {
  model_group: string;
  model: string;
  provider: string;
  deployment: string;
};

interface Entry {
  labels: DeploymentStateLabels;
  cooling: boolean;
  until?: number;
}

export class DeploymentStates {
  readonly #entries = new Map<string, Entry>();

  set(labels: DeploymentStateLabels, cooling: boolean, until?: number): void {
    const key = `${labels.model_group}\u0000${labels.deployment}`;
    const entry: Entry = { labels, cooling };
    if (until !== undefined) entry.until = until;
    this.#entries.set(key, entry);
  }

  current(now: number): Array<{ labels: DeploymentStateLabels; value: 0 | 1 }> {
    const result: Array<{ labels: DeploymentStateLabels; value: 0 | 1 }> = [];
    for (const entry of this.#entries.values()) {
      const cooling = entry.cooling && (entry.until === undefined || entry.until > now);
      result.push({ labels: entry.labels, value: cooling ? 1 : 0 });
    }
    return result;
  }
}

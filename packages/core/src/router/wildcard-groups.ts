import type { Deployment } from "../config/types";

/** One wildcard model group: `model_name: "openai/*"` and its deployments (templates). */
export interface WildcardGroup {
  pattern: string;
  regex: RegExp;
  deployments: Deployment[];
}

/** Concrete groups kept at most; the oldest is forgotten first (a client can send any name). */
const MAX_CONCRETE_GROUPS = 1000;

/**
 * LiteLLM's provider-specific wildcard routing: a request for a model no exact group or alias names
 * is matched against the wildcard patterns, most specific first (most literal characters), and gets
 * concrete deployments: the template's `*` replaced by what the pattern's `*` matched, so
 * `openai/gpt-4o` on `model_name: "openai/*"` calls `openai/gpt-4o`, priced and reported as gpt-4o.
 */
export class WildcardGroups {
  private readonly groups: WildcardGroup[] = [];
  private readonly concrete = new Map<string, Deployment[]>();

  constructor(deployments: readonly Deployment[]) {
    const byPattern = new Map<string, Deployment[]>();
    for (const deployment of deployments) {
      if (!deployment.wildcard) continue;
      const list = byPattern.get(deployment.modelGroup) ?? [];
      list.push(deployment);
      byPattern.set(deployment.modelGroup, list);
    }
    for (const [pattern, list] of byPattern) {
      this.groups.push({ pattern, regex: patternRegex(pattern), deployments: list });
    }
    const literal = (pattern: string) => pattern.replaceAll("*", "").length;
    this.groups.sort((a, b) => literal(b.pattern) - literal(a.pattern));
  }

  get size(): number {
    return this.groups.length;
  }

  patterns(): readonly WildcardGroup[] {
    return this.groups;
  }

  /** The most specific pattern matching a model name. */
  match(name: string): WildcardGroup | undefined {
    return this.groups.find((group) => group.regex.test(name));
  }

  /** Concrete deployments for a requested model name (cached), or undefined when no pattern matches. */
  resolve(name: string): Deployment[] | undefined {
    const cached = this.concrete.get(name);
    if (cached) return cached;
    const group = this.match(name);
    if (!group) return undefined;
    const captures = group.regex.exec(name)?.slice(1) ?? [];
    const list = group.deployments.map((template) => concreteDeployment(template, name, captures));
    if (this.concrete.size >= MAX_CONCRETE_GROUPS) {
      const oldest = this.concrete.keys().next().value;
      if (oldest !== undefined) this.concrete.delete(oldest);
    }
    this.concrete.set(name, list);
    return list;
  }

  /** Concrete groups made so far (cooldown reports). */
  resolved(): IterableIterator<Deployment[]> {
    return this.concrete.values();
  }

  /**
   * The model names a pattern can serve, given the models a provider is known to have: each known
   * model put into the template's single `*` and read back through the pattern. Patterns or
   * templates with several `*` list nothing (their names cannot be derived).
   */
  expand(group: WildcardGroup, known: (provider: string) => readonly string[]): string[] {
    const names = new Set<string>();
    for (const template of group.deployments) {
      const stars = template.model.split("*").length - 1;
      const patternStars = group.pattern.split("*").length - 1;
      if (stars !== 1 || patternStars !== 1) continue;
      const [before = "", after = ""] = template.model.split("*");
      for (const model of known(template.provider)) {
        if (!model.startsWith(before) || !model.endsWith(after)) continue;
        const middle = model.slice(before.length, model.length - after.length);
        const name = group.pattern.replace("*", middle);
        if (this.match(name) === group) names.add(name);
      }
    }
    return [...names];
  }
}

/** `openai/*` → /^openai\/(.*)$/: each `*` captures what it matched. */
export function patternRegex(pattern: string): RegExp {
  const body = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join("(.*)");
  return new RegExp(`^${body}$`, "s");
}

/**
 * The template with its `*` filled in: one capture per `*`, in order; otherwise the whole name. A
 * name that repeats the provider prefix (`openai/gpt-4o` on `model_name: "*"`, `openai/*`) loses it.
 */
export function concreteModel(template: Deployment, name: string, captures: string[]): string {
  const parts = template.model.split("*");
  let model =
    parts.length - 1 === captures.length
      ? parts.reduce((text, part, index) => text + part + (captures[index] ?? ""), "")
      : name;
  const prefix = `${template.provider}/`;
  while (model.startsWith(prefix)) model = model.slice(prefix.length);
  return model;
}

function concreteDeployment(template: Deployment, name: string, captures: string[]): Deployment {
  const model = concreteModel(template, name, captures);
  const deployment: Deployment = { ...template, id: `${template.id}:${model}`, modelGroup: name, model };
  delete deployment.wildcard;
  return deployment;
}

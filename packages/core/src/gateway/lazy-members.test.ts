/**
 * The classes that replace object literals with getters on the call path, and a scan of every
 * package's source for such literals (why: lazy-members.ts).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { HitOutcome, LazyItems, StreamOutcomeView } from "./lazy-members";

const PACKAGES = join(import.meta.dirname, "../../..");

function sourceFiles(directory: string): string[] {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    if (entry.isDirectory()) return entry.name === "fixtures" ? [] : sourceFiles(path);
    return entry.name.endsWith(".ts") && !entry.name.endsWith(".test.ts") && !entry.name.endsWith(".d.ts")
      ? [path]
      : [];
  });
}

/**
 * Literals made once per gateway or per process, not per call: their getters cost nothing over time.
 * By file and accessor name.
 */
const ONCE = new Set([
  "core/src/gateway/create-gateway.ts sharedState",
  "core/src/gateway/create-gateway.ts responseCache",
  "otel/src/setup-tracing.ts tracerProvider",
]);

/** Every getter and setter of a source text: its kind, what holds it, its name and line. */
function accessorsIn(
  file: string,
  text: string,
): Array<{ kind: string; holder: string; name: string; line: number }> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: Array<{ kind: string; holder: string; name: string; line: number }> = [];
  const visit = (node: ts.Node) => {
    if (ts.isGetAccessorDeclaration(node) || ts.isSetAccessorDeclaration(node)) {
      const { line } = source.getLineAndCharacterOfPosition(node.getStart(source));
      found.push({
        kind: ts.SyntaxKind[node.kind],
        holder: ts.SyntaxKind[node.parent.kind],
        name: node.name.getText(source),
        line: line + 1,
      });
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** Every getter or setter written in an object literal (but those in ONCE), as "file:line name". */
function literalAccessors(file: string, text = readFileSync(file, "utf8")): string[] {
  const path = relative(PACKAGES, file).split("\\").join("/");
  return accessorsIn(file, text)
    .filter(({ holder, name }) => holder === "ObjectLiteralExpression" && !ONCE.has(`${path} ${name}`))
    .map(({ line, name }) => `${path}:${line} ${name}`);
}

describe("no object literal with a getter or setter in the packages' source", () => {
  it("every package's src is scanned and has none", () => {
    const packages = readdirSync(PACKAGES, { withFileTypes: true }).filter((entry) => entry.isDirectory());
    const files = packages.flatMap((entry) => {
      try {
        return sourceFiles(join(PACKAGES, entry.name, "src"));
      } catch {
        return [];
      }
    });
    // the scan sees the call path's files (it would pass vacuously on an empty list)
    expect(files.some((file) => file.endsWith(join("core", "src", "http", "prepare-call.ts")))).toBe(true);
    expect(files.some((file) => file.endsWith(join("otel", "src", "call-spans.ts")))).toBe(true);
    expect(files.flatMap((file) => literalAccessors(file))).toEqual([]);
  });

  it("the scan finds a literal's getter and setter, and not a class's", () => {
    const file = join(import.meta.dirname, "__scan-sample.ts");
    const text = [
      "export const a = { get items() { return 1; }, set items(value: number) {} };",
      "export class B { get items() { return 1; } }",
    ].join("\n");
    const kinds = accessorsIn(file, text).map(({ kind, holder }) => `${kind} in ${holder}`);
    expect(kinds).toEqual([
      "GetAccessor in ObjectLiteralExpression",
      "SetAccessor in ObjectLiteralExpression",
      "GetAccessor in ClassDeclaration",
    ]);
    expect(literalAccessors(file, text)).toEqual([
      "core/src/gateway/__scan-sample.ts:1 items",
      "core/src/gateway/__scan-sample.ts:1 items",
    ]);
  });
});

describe("LazyItems, StreamOutcomeView, HitOutcome", () => {
  it("make the generator once, on first read, and hand it out as chunks and events", async () => {
    let made = 0;
    async function* generate() {
      made++;
      yield 1;
      yield 2;
    }
    const items = new LazyItems(
      async () => undefined,
      generate,
      async () => undefined,
    );
    const view = new StreamOutcomeView({ "x-a": "1" }, items);
    expect(made).toBe(0);
    expect(view.chunks).toBe(view.events);
    const seen: number[] = [];
    for await (const value of view.chunks) seen.push(value);
    expect(seen).toEqual([1, 2]);
    expect(made).toBe(1);
    expect(view.headers).toEqual({ "x-a": "1" });
    expect(view.trailers).toBeUndefined();
  });

  it("a hit's body is parsed on first read, from its answer", () => {
    let parsed = 0;
    const answer = {
      raw: '{"id":"x"}',
      get body() {
        parsed++;
        return JSON.parse(this.raw) as { id: string };
      },
    };
    const outcome = new HitOutcome(answer, {});
    expect(outcome.raw).toBe('{"id":"x"}');
    expect(parsed).toBe(0);
    expect(outcome.body).toEqual({ id: "x" });
  });
});

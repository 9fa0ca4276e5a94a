/**
 * Turns turbo's NDJSON output (`turbo run build --json`) into one progress line per package: when a
 * package starts building, when it is built (each format tsup builds has succeeded) or came from the
 * cache, and which are still building. Used by scripts/build-app.mjs; tested in
 * packages/cli/test/build-progress.test.ts.
 */

/**
 * @param {{ appName: string, appLabel: string, print: (line: string) => void, now?: () => number }} options
 */
export function createBuildProgress({ appName, appLabel, print, now = Date.now }) {
  /** @type {Map<string, { started: number, cached: boolean, done: boolean, esm: boolean, cjs: boolean, output: string[] }>} */
  const tasks = new Map();
  const turboLines = [];
  let total = 0;
  let finished = 0;
  const seconds = (since) => `${((now() - since) / 1000).toFixed(1)} s`;

  /** One line of turbo's stdout. */
  function line(raw) {
    let event;
    try {
      event = JSON.parse(raw);
    } catch {
      turboLines.push(raw);
      return;
    }
    const text = String(event.text ?? "");
    if (event.source === "turbo") {
      turboLines.push(text);
      const scope = /Packages in scope: (.+)$/.exec(text);
      if (scope) {
        const packages = scope[1].split(", ");
        total = packages.length;
        const needed = packages.filter((name) => name !== appName).length;
        print(
          `llmux: building ${appLabel} and the ${needed} packages it needs (JavaScript only; ` +
            "`npm run build` also makes the type declarations)",
        );
      }
      return;
    }
    const name = String(event.source).replace(/#build$/, "");
    let task = tasks.get(name);
    if (!task) {
      task = { started: now(), cached: false, done: false, esm: false, cjs: false, output: [] };
      tasks.set(name, task);
    }
    task.output.push(text);
    if (/^cache hit/.test(text)) {
      task.cached = true;
      return;
    }
    if (/^cache (miss|bypass)/.test(text)) {
      print(`  building ${name}`);
      return;
    }
    if (/^ESM .*Build success/.test(text)) task.esm = true;
    if (/^CJS .*Build success/.test(text)) task.cjs = true;
    // Done when each format it builds has succeeded: the packages build ESM and CommonJS, apps ESM.
    const built = name === appName ? task.esm : task.esm && task.cjs;
    if (built && !task.done) {
      task.done = true;
      finished++;
      print(
        task.cached
          ? `  [${finished}/${total}] ${name}: up to date (turbo cache)`
          : `  [${finished}/${total}] built ${name} in ${seconds(task.started)}`,
      );
    }
  }

  return {
    line,
    /** A line of turbo's stderr. */
    stderr: (text) => turboLines.push(text),
    /** Packages started and not finished yet. */
    running: () =>
      [...tasks.entries()].filter(([, task]) => !task.done && !task.cached).map(([name]) => name),
    /** What to print when the build failed: the output of each unfinished package, then turbo's lines. */
    failureReport() {
      const lines = [];
      for (const [name, task] of tasks) {
        if (task.done) continue;
        lines.push(`--- ${name}`, ...task.output);
      }
      for (const text of turboLines) if (text.trim()) lines.push(text);
      return lines;
    },
  };
}

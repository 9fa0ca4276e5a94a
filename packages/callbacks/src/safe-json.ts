/**
 * JSON.stringify that never throws: on a cycle or a BigInt it retries with a replacer that
 * writes BigInts as strings and repeated objects on the current path as "[Circular]".
 */
export function safeJsonStringify(value: unknown): string {
  try {
    return JSON.stringify(value) ?? "null";
  } catch {
    const ancestors: object[] = [];
    return (
      JSON.stringify(value, function (this: unknown, _key: string, item: unknown) {
        if (typeof item === "bigint") return item.toString();
        if (item === null || typeof item !== "object") return item;
        // `this` is the object holding `item`: unwind the path to it before checking for a cycle.
        while (ancestors.length > 0 && ancestors[ancestors.length - 1] !== this) ancestors.pop();
        if (ancestors.includes(item)) return "[Circular]";
        ancestors.push(item);
        return item;
      }) ?? "null"
    );
  }
}

/**
 * `{ ...source, ...additions }` for a copy made on every call, without the spread: on Node 20 (V8 11.3) a
 * key added to a spread copy (`{ ...body, stream: true }`, when the body had no `stream`) makes a new
 * hidden class on every call once the site has run a while (1-2 µs, and a map left for the old
 * generation's collector; see hidden-classes.test.ts). The copy is filled key by key instead, in the
 * spread's order: the source's own enumerable string keys, then the additions (one the source has keeps
 * its place and takes the addition's value). A `__proto__` key (a parsed JSON body may hold one) is
 * defined as an own property, as the spread defines it, not set as the prototype.
 */
export function copyWith<T extends object>(source: T, additions: Partial<T> & Record<string, unknown>): T {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source)) put(copy, key, (source as Record<string, unknown>)[key]);
  for (const key of Object.keys(additions)) put(copy, key, additions[key]);
  return copy as T;
}

/**
 * `source` without the `omitted` keys, for a copy made on every call: filled key by key, not spread and
 * then `delete`d (a deleted key turns the copy into a dictionary-mode object, slower to read and to
 * serialise, and made again on every call). The source's own enumerable string keys in their order; a
 * `__proto__` key stays an own key.
 */
export function copyWithout<T extends object>(source: T, omitted: ReadonlySet<string>): T {
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(source))
    if (!omitted.has(key)) put(copy, key, (source as Record<string, unknown>)[key]);
  return copy as T;
}

function put(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === "__proto__")
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

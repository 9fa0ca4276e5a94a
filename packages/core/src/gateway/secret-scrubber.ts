/**
 * Removes secrets from texts that leave the process (error messages, events, logs): every configured
 * secret (provider keys, AWS secrets, the master key) and anything shaped like a bearer token or key.
 */
const KEY_SHAPES = [
  /\b(sk|pk|rk)-[A-Za-z0-9_*-]{8,}/g,
  /\bBearer\s+[A-Za-z0-9._~+/=-]{8,}/gi,
  /\bAKIA[0-9A-Z]{12,}\b/g,
];

export function createSecretScrubber(secrets: Iterable<string | undefined>): (text: string) => string {
  const list = [
    ...new Set(
      [...secrets].filter((secret): secret is string => typeof secret === "string" && secret.length >= 4),
    ),
  ];
  list.sort((first, second) => second.length - first.length);
  return (text) => {
    let result = text;
    for (const secret of list) if (result.includes(secret)) result = result.split(secret).join("[redacted]");
    for (const shape of KEY_SHAPES) result = result.replace(shape, "[redacted]");
    return result;
  };
}

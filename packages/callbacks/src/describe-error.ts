import type { SecretScrubber } from "./api-types";

const MAX_MESSAGE_LENGTH = 500;

/** A short, secret-scrubbed text for an error of any shape (for logs only). */
export function describeError(error: unknown, scrub: SecretScrubber): string {
  let text: string;
  if (error instanceof Error) {
    text = error.name && error.name !== "Error" ? `${error.name}: ${error.message}` : error.message;
  } else if (typeof error === "string") {
    text = error;
  } else {
    try {
      text = JSON.stringify(error) ?? String(error);
    } catch {
      text = String(error);
    }
  }
  if (text.length > MAX_MESSAGE_LENGTH) text = `${text.slice(0, MAX_MESSAGE_LENGTH)}…`;
  return scrub(text);
}

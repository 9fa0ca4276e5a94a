import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { LitellmPriceTable } from "./litellm-price-table.js";

/** The date of the bundled copy of LiteLLM's model_prices_and_context_window.json. */
export const BUNDLED_LITELLM_SNAPSHOT = "2026-07-24";

const FILE_NAME = `litellm_model_prices_${BUNDLED_LITELLM_SNAPSHOT}.json`;

/** data/ sits beside src/ (tests) and dist/ (the published build) alike. */
export function bundledPriceFilePath(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "..", "data", FILE_NAME), join(here, "data", FILE_NAME)];
  return candidates.find((path) => existsSync(path)) ?? (candidates[0] as string);
}

let table: LitellmPriceTable | undefined;
let failure: Error | undefined;

/**
 * The bundled LiteLLM snapshot, read and indexed on first use and then kept for the process (shared
 * by every `createPricing`). A missing or broken file is an Error, remembered so it is not retried.
 */
export function bundledLitellmTable(): LitellmPriceTable | Error {
  if (table) return table;
  if (failure) return failure;
  try {
    table = LitellmPriceTable.from(bundledPriceFilePath(), "bundled LiteLLM prices");
    return table;
  } catch (error) {
    failure = error instanceof Error ? error : new Error(String(error));
    return failure;
  }
}

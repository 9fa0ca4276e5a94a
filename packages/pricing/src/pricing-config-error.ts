/**
 * Thrown by `createPricing` when its options cannot be used (an unreadable or malformed price file).
 * Recognise it by `error.kind === "llmux.pricing.config"` (no `instanceof` needed across copies).
 */
export class PricingConfigError extends Error {
  readonly kind = "llmux.pricing.config" as const;

  constructor(message: string) {
    super(message);
    this.name = "PricingConfigError";
  }
}

import { describe, expect, it } from "vitest";
import { add, decimalFromNumber, divideByPowerOfTen, multiply, toNumber } from "./decimal.js";

describe("exact decimals", () => {
  it("reads numbers as the decimals they print as", () => {
    expect(decimalFromNumber(2.5e-6)).toEqual({ units: 25n, scale: 7 });
    expect(decimalFromNumber(0.00001)).toEqual({ units: 1n, scale: 5 });
    expect(decimalFromNumber(1e21)).toEqual({ units: 10n ** 21n, scale: 0 });
    expect(decimalFromNumber(0)).toEqual({ units: 0n, scale: 0 });
  });

  it("multiplies and adds without float drift", () => {
    // As doubles: 0.1 + 0.2 = 0.30000000000000004 and 3 × 0.0000011 = 0.0000033000000000000003.
    expect(toNumber(add(decimalFromNumber(0.1), decimalFromNumber(0.2)))).toBe(0.3);
    expect(toNumber(multiply(decimalFromNumber(3), decimalFromNumber(0.0000011)))).toBe(0.0000033);
    // 1,000,000 tokens × $1.10 per million = $1.1 exactly.
    expect(
      toNumber(multiply(decimalFromNumber(1_000_000), divideByPowerOfTen(decimalFromNumber(1.1), 6))),
    ).toBe(1.1);
  });

  it("rejects negative and non-finite values", () => {
    expect(() => decimalFromNumber(-1, "rate")).toThrow("rate must be a finite non-negative number, got -1");
    expect(() => decimalFromNumber(Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

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

  it("turns decimals into the double the number parser gives, on the fast path and off it", () => {
    // toNumber divides exact doubles when it can (units < 2^53, scale <= 22): that must give exactly
    // the double that parsing "<units>e-<scale>" gives, on every path.
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed;
    };
    for (let index = 0; index < 20_000; index++) {
      const units = BigInt(next()) * BigInt(next() % 4096) + BigInt(next() % 1000);
      const scale = next() % 30;
      const value = { units, scale };
      expect(toNumber(value)).toBe(Number(`${units}e-${scale}`));
    }
    const large = { units: 2n ** 53n + 1n, scale: 7 };
    expect(toNumber(large)).toBe(Number(`${large.units}e-7`));
    expect(toNumber({ units: 123n, scale: 23 })).toBe(1.23e-21);
    expect(toNumber({ units: 0n, scale: 9 })).toBe(0);
  });

  it("reads integers and remembered fractions as the same decimals as the first read", () => {
    expect(decimalFromNumber(1_234_567)).toEqual({ units: 1_234_567n, scale: 0 });
    expect(decimalFromNumber(2 ** 53 - 1)).toEqual({ units: 2n ** 53n - 1n, scale: 0 });
    const first = decimalFromNumber(0.0000025);
    expect(decimalFromNumber(0.0000025)).toEqual(first);
    expect(first).toEqual({ units: 25n, scale: 7 });
    expect(() => decimalFromNumber(Number.NaN, "rate")).toThrow("rate must be a finite non-negative number");
  });
});

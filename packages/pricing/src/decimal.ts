/**
 * Exact decimal arithmetic for prices: a value is `units × 10^-scale` with `units` a BigInt.
 *
 * Prices in price files are short decimals (0.0000025 USD per token, 2.5 USD per million tokens);
 * token counts are integers. Multiplying and adding them as doubles drifts (0.0032500000000000003);
 * multiplying and adding them as exact decimals does not. Every figure is converted to a `number`
 * once, at the end, to the double nearest the exact value.
 */
export interface Decimal {
  readonly units: bigint;
  readonly scale: number;
}

export const ZERO: Decimal = { units: 0n, scale: 0 };

const DECIMAL_PATTERN = /^(-?)(\d+)(?:\.(\d+))?(?:e([+-]?\d+))?$/i;

/**
 * The exact decimal a JavaScript number prints as (its shortest round-trip form: the 2.5e-6 a price
 * file holds reads back as exactly 0.0000025). Throws on NaN, infinities and negative values.
 */
export function decimalFromNumber(value: number, what = "value"): Decimal {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw new RangeError(`${what} must be a finite non-negative number, got ${String(value)}`);
  }
  // Token counts: an integer prints without fraction or exponent below 2^53, so it is its own units.
  if (Number.isSafeInteger(value)) return value === 0 ? ZERO : { units: BigInt(value), scale: 0 };
  let known = fractions.get(value);
  if (known === undefined) {
    known = readDecimal(value, what);
    if (fractions.size >= FRACTIONS_KEPT) fractions.clear();
    fractions.set(value, known);
  }
  return known;
}

/** Prices already read (a deployment's few rates, read on every call): decimals are immutable. */
const fractions = new Map<number, Decimal>();
const FRACTIONS_KEPT = 4_096;

function readDecimal(value: number, what: string): Decimal {
  const match = DECIMAL_PATTERN.exec(String(value));
  if (!match) throw new RangeError(`${what}: cannot read ${String(value)} as a decimal`);
  const integerPart = match[2] ?? "0";
  const fractionPart = match[3] ?? "";
  const exponent = Number(match[4] ?? "0");
  let units = BigInt(integerPart + fractionPart);
  let scale = fractionPart.length - exponent;
  if (scale < 0) {
    units *= 10n ** BigInt(-scale);
    scale = 0;
  }
  return { units, scale };
}

export function multiply(left: Decimal, right: Decimal): Decimal {
  return { units: left.units * right.units, scale: left.scale + right.scale };
}

export function add(left: Decimal, right: Decimal): Decimal {
  if (left.scale === right.scale) return { units: left.units + right.units, scale: left.scale };
  if (left.scale > right.scale) {
    return { units: left.units + right.units * 10n ** BigInt(left.scale - right.scale), scale: left.scale };
  }
  return { units: left.units * 10n ** BigInt(right.scale - left.scale) + right.units, scale: right.scale };
}

export function sum(values: readonly Decimal[]): Decimal {
  let total = ZERO;
  for (const value of values) total = add(total, value);
  return total;
}

/** Divides by 10^digits exactly (per-million and per-thousand prices). */
export function divideByPowerOfTen(value: Decimal, digits: number): Decimal {
  return { units: value.units, scale: value.scale + digits };
}

/** 10^0 .. 10^22: every power of ten a double holds exactly. */
const EXACT_POWERS_OF_TEN = [
  1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
  1e20, 1e21, 1e22,
];
const LARGEST_EXACT_UNITS = 2n ** 53n;

/** The double nearest the exact value (JavaScript's number parser rounds correctly). */
export function toNumber(value: Decimal): number {
  if (value.units === 0n) return 0;
  // Units and 10^scale both exact doubles: one IEEE division rounds the quotient correctly, to the
  // same double the parser gives (Clinger's fast path), without printing and parsing a string.
  if (value.scale <= 22 && value.units <= LARGEST_EXACT_UNITS && value.units >= -LARGEST_EXACT_UNITS)
    return Number(value.units) / EXACT_POWERS_OF_TEN[value.scale]!;
  return Number(`${value.units}e-${value.scale}`);
}

import { MinuteAggregates, NONE } from "../store/minute-aggregates";
import type { SpendDimension, SpendReport } from "../types";

/** A row of LiteLLM's `GET /spend/logs` (the fields the dashboard reads; others are ignored). */
export interface SpendLogRow {
  request_id?: string;
  api_key?: string | null;
  key_alias?: string | null;
  spend?: number | string;
  total_tokens?: number | string;
  startTime?: string | number;
  model?: string;
  model_group?: string;
  user?: string | null;
  end_user?: string | null;
  team_id?: string | null;
  status?: string;
  metadata?: Record<string, unknown> | string;
}

/** The rows of a /spend/logs answer: a bare array (LiteLLM) or under `data`/`logs`. */
export function spendLogRows(body: unknown): SpendLogRow[] {
  if (Array.isArray(body)) return body as SpendLogRow[];
  if (body && typeof body === "object") {
    for (const name of ["data", "logs", "spend_logs"]) {
      const value = (body as Record<string, unknown>)[name];
      if (Array.isArray(value)) return value as SpendLogRow[];
    }
  }
  return [];
}

/** The same report as the in-process one, built from the control plane's spend logs. */
export function spendFromLogs(
  rows: SpendLogRow[],
  by: SpendDimension,
  start: number,
  end: number,
  bucketMs: number,
): SpendReport {
  const minutes = Math.ceil((end - start) / 60_000) + 2;
  const aggregates = new MinuteAggregates(minutes, 200);
  for (const row of rows) {
    const time = typeof row.startTime === "number" ? row.startTime : Date.parse(String(row.startTime ?? ""));
    if (!Number.isFinite(time) || time < start || time > end) continue;
    const metadata = metadataOf(row.metadata);
    const facts: Parameters<MinuteAggregates["add"]>[0] = {
      time,
      model: row.model_group || row.model || NONE,
      spend: Number(row.spend ?? 0) || 0,
      tokens: Number(row.total_tokens ?? 0) || 0,
      failed: row.status === "failure",
    };
    const key = stringOf(row.key_alias) ?? stringOf(metadata.user_api_key_alias) ?? shortKey(row.api_key);
    if (key) facts.key = key;
    // The request's user (as the in-process view counts it), else the key's owner.
    const user = row.end_user || row.user || stringOf(metadata.user_api_key_user_id);
    if (user) facts.user = user;
    const team =
      stringOf(metadata.user_api_key_team_alias) ?? (row.team_id || stringOf(metadata.user_api_key_team_id));
    if (team) facts.team = team;
    aggregates.add(facts);
  }
  const { times, series } = aggregates.series(by, start, end, bucketMs);
  const report: SpendReport = {
    source: "control",
    by,
    times,
    bucketMs,
    series: [],
    totals: { spend: 0, tokens: 0, calls: 0 },
  };
  for (const [name, values] of series) {
    report.series.push({
      name,
      spend: values.map((value) => value.spend),
      tokens: values.map((value) => value.tokens),
      calls: values.map((value) => value.calls),
    });
    for (const value of values) {
      report.totals.spend += value.spend;
      report.totals.tokens += value.tokens;
      report.totals.calls += value.calls;
    }
  }
  return report;
}

function metadataOf(value: SpendLogRow["metadata"]): Record<string, unknown> {
  if (!value) return {};
  if (typeof value === "string") {
    try {
      const parsed = JSON.parse(value) as unknown;
      return parsed && typeof parsed === "object" ? (parsed as Record<string, unknown>) : {};
    } catch {
      return {};
    }
  }
  return value;
}

function stringOf(value: unknown): string | undefined {
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/** A hashed key as a short label (never the key itself: spend logs hold hashes). */
function shortKey(value: string | null | undefined): string | undefined {
  if (!value) return undefined;
  return value.length > 12 ? `…${value.slice(-8)}` : value;
}

import type { PluginRoute } from "@llmux/callbacks";
import { tokenOf } from "../../keys/key-material";
import type { SpendReportRow } from "../../store/records";
import type { ControlContext } from "../control-context";
import { pageOf } from "../fields";
import { adminRoute, badRequest } from "../route-kit";

const DAY_MS = 86_400_000;

/**
 * Spend logs (one row per call) and the daily report.
 *
 * @example
 * curl -s "localhost:4000/spend/logs?api_key=sk-…&start_date=2026-12-01&end_date=2026-12-04&page=1&page_size=50" \
 *   -H "Authorization: Bearer $MASTER_KEY"
 * curl -s "localhost:4000/global/spend/report?start_date=2026-12-01&end_date=2026-12-04&group_by=api_key" \
 *   -H "Authorization: Bearer $MASTER_KEY"
 */
export function spendRoutes(control: ControlContext): PluginRoute[] {
  const { kit, store } = control;
  return [
    adminRoute(kit, "GET", "/spend/logs", async ({ query }) => {
      const paged = query.has("page") || query.has("page_size");
      const paging = paged ? pageOf(query) : { page: 1, page_size: 1000 };
      const filter: Parameters<typeof store.spendLogs>[0] = { ...paging };
      const apiKey = query.get("api_key");
      if (apiKey) filter.api_key = tokenOf(apiKey);
      for (const name of ["user_id", "team_id", "request_id"] as const) {
        const value = query.get(name);
        if (value) filter[name] = value;
      }
      const start = dateParam(query, "start_date", false);
      const end = dateParam(query, "end_date", true);
      if (start) filter.start_date = start;
      if (end) filter.end_date = end;
      const { rows, total } = await store.spendLogs(filter);
      if (!paged) return rows;
      return {
        data: rows,
        total,
        page: paging.page,
        page_size: paging.page_size,
        total_pages: Math.ceil(total / paging.page_size),
      };
    }),
    adminRoute(kit, "GET", "/global/spend/report", async ({ query }) => {
      const groupBy = query.get("group_by") ?? "team";
      if (!["team", "api_key", "customer", "user", "model"].includes(groupBy)) {
        throw badRequest("'group_by' must be one of team, api_key, customer, user, model", "group_by");
      }
      const end = dateParam(query, "end_date", true) ?? new Date(control.now());
      const start = dateParam(query, "start_date", false) ?? new Date(end.getTime() - 30 * DAY_MS);
      const rows = await store.spendReport({ start_date: start, end_date: end, group_by: groupBy as "team" });
      return report(rows, groupBy);
    }),
  ];
}

/** LiteLLM's shape: one entry per day, the groups of that day, each with its spend per model. */
function report(rows: SpendReportRow[], groupBy: string): unknown[] {
  const listName =
    groupBy === "team"
      ? "teams"
      : groupBy === "api_key"
        ? "api_keys"
        : groupBy === "customer"
          ? "customers"
          : groupBy === "user"
            ? "users"
            : "models";
  const nameField =
    groupBy === "team"
      ? "team_name"
      : groupBy === "api_key"
        ? "api_key"
        : groupBy === "customer"
          ? "customer"
          : groupBy === "user"
            ? "user_id"
            : "model";
  const totalField = groupBy === "api_key" ? "total_cost" : "total_spend";
  const days = new Map<
    string,
    Map<
      string,
      {
        total: number;
        metadata: Array<{ model: string; spend: number; total_tokens: number; requests: number }>;
      }
    >
  >();
  for (const row of rows) {
    let groups = days.get(row.day);
    if (!groups) {
      groups = new Map();
      days.set(row.day, groups);
    }
    const name = row.group ?? "Unassigned";
    let group = groups.get(name);
    if (!group) {
      group = { total: 0, metadata: [] };
      groups.set(name, group);
    }
    group.total += row.spend;
    group.metadata.push({
      model: row.model,
      spend: row.spend,
      total_tokens: row.total_tokens,
      requests: row.requests,
    });
  }
  return [...days].map(([day, groups]) => ({
    group_by_day: day,
    [listName]: [...groups].map(([name, group]) => ({
      [nameField]: name,
      [totalField]: group.total,
      metadata: group.metadata,
    })),
  }));
}

/** "2026-12-04" (a whole day: an end date includes it) or an ISO timestamp. */
function dateParam(query: URLSearchParams, name: string, end: boolean): Date | undefined {
  const value = query.get(name);
  if (!value) return undefined;
  const time = Date.parse(value);
  if (Number.isNaN(time)) throw badRequest(`'${name}' must be a date (YYYY-MM-DD) or an ISO timestamp`, name);
  return new Date(end && /^\d{4}-\d{2}-\d{2}$/.test(value) ? time + DAY_MS : time);
}

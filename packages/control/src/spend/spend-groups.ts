import type { SpendEntry } from "./spend-entry";

/** A run of rows with one key, key alias, user and team, and those rows without the four fields. */
export type SpendGroup = [
  api_key: string | null,
  key_alias: string | null,
  user_id: string | null,
  team_id: string | null,
  rows: unknown[][],
];

/**
 * A batch as llmux_write_spend_groups (migration 0006) reads it: consecutive rows of the same key,
 * alias, user and team in one group that names them once; each row a SpendEntry without fields 2..5.
 * Rows of one subject interleaved with another's make more groups, never a wrong row (no map, no sort:
 * one pass, the rows' order kept).
 */
export function spendGroups(rows: readonly SpendEntry[]): SpendGroup[] {
  const groups: SpendGroup[] = [];
  let group: SpendGroup | undefined;
  for (const row of rows) {
    if (!group || row[2] !== group[0] || row[3] !== group[1] || row[4] !== group[2] || row[5] !== group[3]) {
      group = [row[2], row[3], row[4], row[5], []];
      groups.push(group);
    }
    group[4].push([
      row[0],
      row[1],
      row[6],
      row[7],
      row[8],
      row[9],
      row[10],
      row[11],
      row[12],
      row[13],
      row[14],
      row[15],
      row[16],
      row[17],
      row[18],
      row[19],
      row[20],
      row[21],
      row[22],
      row[23],
    ]);
  }
  return groups;
}

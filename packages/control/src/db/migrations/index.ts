import type { Migration } from "../migration";
import { migration0001Keys } from "./0001_keys";
import { migration0002UsersTeams } from "./0002_users_teams";
import { migration0003SpendLogs } from "./0003_spend_logs";
import { migration0004Responses } from "./0004_responses";
import { migration0005SpendWrite } from "./0005_spend_write";
import { migration0006SpendGroups } from "./0006_spend_groups";

/**
 * Every migration by name, imported statically so nothing reads the disk and the bundled `dist` works.
 * Names sort in the order they run. Forward-only: never edit or rename an entry once released (the
 * migrator refuses a history it does not recognise); add a new one instead.
 */
export const MIGRATIONS: Readonly<Record<string, Migration>> = {
  "0001_keys": migration0001Keys,
  "0002_users_teams": migration0002UsersTeams,
  "0003_spend_logs": migration0003SpendLogs,
  "0004_responses": migration0004Responses,
  "0005_spend_write": migration0005SpendWrite,
  "0006_spend_groups": migration0006SpendGroups,
};

import { randomUUID } from "node:crypto";
import type { PluginRoute } from "@llmux/callbacks";
import type { TeamMember, TeamRecord } from "../../store/records";
import type { ControlContext } from "../control-context";
import { budgetFields, optionalBoolean, optionalString, optionalStringList, requiredString } from "../fields";
import { adminRoute, badRequest, notFound } from "../route-kit";

/**
 * Teams: a shared budget and model list for their keys and members.
 *
 * @example
 * curl -s localhost:4000/team/new -H "Authorization: Bearer $MASTER_KEY" -H 'content-type: application/json' \
 *   -d '{"team_alias":"search","models":["gpt-4o-mini"],"max_budget":100,"budget_duration":"30d"}'
 */
export function teamRoutes(control: ControlContext): PluginRoute[] {
  const { kit, store, cache } = control;

  const fromBody = (body: Record<string, unknown>) => ({
    ...budgetFields(body, control.now()),
    team_alias: optionalString(body, "team_alias"),
    blocked: optionalBoolean(body, "blocked"),
    members_with_roles:
      body.members_with_roles === undefined
        ? undefined
        : members(body.members_with_roles, "members_with_roles"),
  });

  const present = (record: TeamRecord) => ({
    ...record,
    spend: record.spend + control.pendingSpend("team", record.team_id),
  });

  const findTeam = async (body: Record<string, unknown>) => {
    const teamId = requiredString(body, "team_id");
    const record = await store.get("team", teamId);
    if (!record) throw notFound(`Team '${teamId}' not found`, "team_id");
    return record;
  };

  /** Adds the team to each member's `teams` (members without a user row get one, as LiteLLM does). */
  const joinUsers = async (teamId: string, added: TeamMember[]) => {
    const users = [];
    for (const member of added) {
      const user = await store.get("user", member.user_id);
      const updated = user
        ? await store.update("user", member.user_id, { teams: [...new Set([...user.teams, teamId])] })
        : await store.insert("user", { user_id: member.user_id, teams: [teamId] });
      cache.set("user", member.user_id, updated);
      users.push(updated);
    }
    return users;
  };

  return [
    adminRoute(kit, "POST", "/team/new", async ({ body }) => {
      const teamId = optionalString(body, "team_id") ?? randomUUID();
      if (await store.get("team", teamId)) throw badRequest(`Team '${teamId}' already exists`, "team_id");
      const record = await store.insert("team", {
        ...fromBody(body),
        team_id: teamId,
      } as Partial<TeamRecord>);
      await joinUsers(teamId, record.members_with_roles);
      cache.set("team", teamId, record);
      return record;
    }),
    adminRoute(kit, "POST", "/team/update", async ({ body }) => {
      const record = await findTeam(body);
      const updated = await store.update("team", record.team_id, fromBody(body) as Partial<TeamRecord>);
      cache.set("team", record.team_id, updated);
      return { team_id: record.team_id, data: present(updated!) };
    }),
    adminRoute(kit, "POST", "/team/delete", async ({ body }) => {
      const ids = optionalStringList(body, "team_ids");
      if (!ids || ids.length === 0) throw badRequest("'team_ids' is required", "team_ids");
      const deleted = await store.delete("team", ids);
      const missing = ids.filter((id) => !deleted.includes(id));
      if (missing.length > 0) throw notFound(`Team not found: ${missing.join(", ")}`, "team_ids");
      for (const id of deleted) cache.set("team", id, undefined);
      return { deleted_teams: deleted };
    }),
    adminRoute(kit, "POST", "/team/member_add", async ({ body }) => {
      const record = await findTeam(body);
      if (body.member === undefined) throw badRequest("'member' is required", "member");
      const added = members(Array.isArray(body.member) ? body.member : [body.member], "member");
      const kept = record.members_with_roles.filter(
        (member) => !added.some((item) => item.user_id === member.user_id),
      );
      const updated = await store.update("team", record.team_id, { members_with_roles: [...kept, ...added] });
      cache.set("team", record.team_id, updated);
      const users = await joinUsers(record.team_id, added);
      return { ...present(updated!), updated_users: users };
    }),
    adminRoute(kit, "POST", "/team/member_delete", async ({ body }) => {
      const record = await findTeam(body);
      const userId = requiredString(body, "user_id");
      if (!record.members_with_roles.some((member) => member.user_id === userId)) {
        throw notFound(`User '${userId}' is not a member of team '${record.team_id}'`, "user_id");
      }
      const updated = await store.update("team", record.team_id, {
        members_with_roles: record.members_with_roles.filter((member) => member.user_id !== userId),
      });
      cache.set("team", record.team_id, updated);
      const user = await store.get("user", userId);
      if (user)
        cache.set(
          "user",
          userId,
          await store.update("user", userId, { teams: user.teams.filter((team) => team !== record.team_id) }),
        );
      return present(updated!);
    }),
    adminRoute(kit, "GET", "/team/info", async ({ query }) => {
      const teamId = query.get("team_id");
      if (!teamId) throw badRequest("'team_id' is required", "team_id");
      const record = await store.get("team", teamId);
      if (!record) throw notFound(`Team '${teamId}' not found`, "team_id");
      // The pending spend is added in the turn the record arrives: a batch committed while the keys
      // are listed leaves the pending counts, and the record read before it does not hold it.
      const teamInfo = present(record);
      const keys = await store.list("key", { team_id: teamId, page: 1, page_size: 1000 });
      return {
        team_id: teamId,
        team_info: teamInfo,
        keys: keys.rows.map((key) => ({ ...key, spend: key.spend + control.pendingSpend("key", key.token) })),
      };
    }),
    adminRoute(kit, "GET", "/team/list", async () => {
      const { rows } = await store.list("team", { page: 1, page_size: 1000 });
      return rows.map(present);
    }),
  ];
}

function members(value: unknown, param: string): TeamMember[] {
  if (!Array.isArray(value)) throw badRequest(`'${param}' must be a list of {user_id, role}`, param);
  return value.map((item, index) => {
    if (
      !item ||
      typeof item !== "object" ||
      typeof (item as TeamMember).user_id !== "string" ||
      (item as TeamMember).user_id.length === 0
    ) {
      throw badRequest(`'${param}[${index}].user_id' is required`, param);
    }
    const role = (item as TeamMember).role ?? "user";
    if (role !== "admin" && role !== "user")
      throw badRequest(`'${param}[${index}].role' must be "admin" or "user"`, param);
    const member: TeamMember = { user_id: (item as TeamMember).user_id, role };
    if (typeof (item as TeamMember).user_email === "string")
      member.user_email = (item as TeamMember).user_email!;
    return member;
  });
}

/** Translates ListUsers filters and sorting into SQL conditions, for either dialect. */
import { and, eq, inArray, ne, not, or, sql, type Column, type SQL } from "drizzle-orm";
import type { UserFilter, UserListQuery, UserSortField } from "../domain/user-query.js";
import { textCondition, type TextFunctions } from "./text-match-sql.js";
import type { UserRow } from "./user-rows.js";

type UserColumns = { [K in keyof UserRow]: Column };
type CountColumns = { orgId: Column; state: Column; type: Column };

export function userQuerySql(users: UserColumns, counts: CountColumns, text: TextFunctions) {
  const ALWAYS_FALSE = sql`1 = 0`;
  const ALWAYS_TRUE = sql`1 = 1`;

  function filterCondition(filter: UserFilter): SQL {
    switch (filter.kind) {
      case "userName":
        return textCondition(text, users.username, users.usernameLower, filter.value, filter.match);
      case "state":
        return eq(users.state, filter.state);
      case "type":
        return eq(users.type, filter.type);
      case "ids":
        return filter.ids.length ? inArray(users.id, filter.ids) : ALWAYS_FALSE;
      case "org":
        return eq(users.orgId, filter.orgId);
      case "and":
        return and(...filter.filters.map(filterCondition)) ?? ALWAYS_TRUE;
      case "or":
        return or(...filter.filters.map(filterCondition)) ?? ALWAYS_FALSE;
      case "not":
        return not(filterCondition(filter.filter));
    }
  }

  // States sort by their number in the API (ACTIVE 1 … INITIAL 5), as ZITADEL sorts them.
  const stateNumber = sql`case ${users.state} when 'active' then 1 when 'inactive' then 2 when 'deleted' then 3 when 'locked' then 4 else 5 end`;

  const SORT_KEYS: Record<UserSortField, SQL | Column> = {
    userName: users.username,
    firstName: users.givenName,
    lastName: users.familyName,
    nickName: users.nickName,
    displayName: users.displayName,
    email: users.email,
    state: stateNumber,
    type: users.type,
    creationDate: users.createdAt,
  };

  return {
    /** Not removed, visible to the caller, and matching every filter. */
    where(query: UserListQuery): SQL | undefined {
      const visible =
        query.visibleOrgs === "all"
          ? undefined
          : or(eq(users.id, query.callerId), query.visibleOrgs.length ? inArray(users.orgId, query.visibleOrgs) : undefined);
      // "Not deleted" by state (same as removed = false), so counting by state reads only an index.
      return and(ne(users.state, "deleted"), visible, ...query.filters.map(filterCondition));
    },
    /**
     * Where to sum user_counts for the total instead of counting matching users: when every
     * user is visible and the filters are only state, type and organization (joined by AND).
     * Undefined when the users must be counted.
     */
    countsWhere(query: UserListQuery): SQL | undefined {
      if (query.visibleOrgs !== "all") return undefined;
      const conditions: SQL[] = [ne(counts.state, "deleted")];
      const pending = [...query.filters];
      for (let filter = pending.pop(); filter; filter = pending.pop()) {
        if (filter.kind === "and") pending.push(...filter.filters);
        else if (filter.kind === "state") conditions.push(eq(counts.state, filter.state));
        else if (filter.kind === "type") conditions.push(eq(counts.type, filter.type));
        else if (filter.kind === "org") conditions.push(eq(counts.orgId, filter.orgId));
        else return undefined;
      }
      return and(...conditions);
    },
    /**
     * Sorted by the chosen key, then by id so that pages are stable. A missing value sorts
     * like the empty string the API shows for it, the same on every backend.
     */
    orderBy(query: UserListQuery): SQL[] {
      const direction = query.asc ? sql`asc nulls first` : sql`desc nulls last`;
      return [sql`${SORT_KEYS[query.sort]} ${direction}`, sql`${users.id} ${direction}`];
    },
  };
}

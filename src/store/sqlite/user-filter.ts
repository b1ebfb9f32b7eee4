/** Translates ListUsers filters and sorting into SQLite conditions. */
import { and, asc, desc, eq, inArray, not, or, sql, type SQL, type SQLWrapper } from "drizzle-orm";
import type { TextMatch, UserFilter, UserListQuery, UserSortField } from "../../domain/user-query.js";
import { users } from "./schema.js";

// SQLite's LIKE ignores case for ASCII only and needs escaping; instr/substr compare exactly.
function textCondition(column: SQLWrapper, lowerColumn: SQLWrapper, text: string, match: TextMatch): SQL {
  const ignoreCase = match.endsWith("IgnoreCase");
  const left = ignoreCase ? lowerColumn : column;
  const right = ignoreCase ? text.toLowerCase() : text;
  switch (match) {
    case "equals":
    case "equalsIgnoreCase":
      return sql`${left} = ${right}`;
    case "startsWith":
    case "startsWithIgnoreCase":
      return sql`instr(${left}, ${right}) = 1`;
    case "contains":
    case "containsIgnoreCase":
      return sql`instr(${left}, ${right}) > 0`;
    case "endsWith":
    case "endsWithIgnoreCase":
      return sql`substr(${left}, -length(${right})) = ${right}`;
  }
}

const ALWAYS_FALSE = sql`0`;
const ALWAYS_TRUE = sql`1`;

export function filterCondition(filter: UserFilter): SQL {
  switch (filter.kind) {
    case "userName":
      return textCondition(users.username, users.usernameLower, filter.value, filter.match);
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

export function listCondition(query: UserListQuery): SQL | undefined {
  const visible =
    query.visibleOrgs === "all"
      ? undefined
      : or(eq(users.id, query.callerId), query.visibleOrgs.length ? inArray(users.orgId, query.visibleOrgs) : undefined);
  return and(eq(users.removed, false), visible, ...query.filters.map(filterCondition));
}

const SORT_COLUMNS: Record<UserSortField, SQLWrapper> = {
  userName: users.username,
  firstName: users.givenName,
  lastName: users.familyName,
  nickName: users.nickName,
  displayName: users.displayName,
  email: users.email,
  state: users.state,
  type: users.type,
  creationDate: users.createdAt,
};

/** Sorted by the chosen column, then by id so that pages are stable. */
export function listOrder(query: UserListQuery): SQL[] {
  const direction = query.asc ? asc : desc;
  return [direction(SORT_COLUMNS[query.sort]), direction(users.id)];
}

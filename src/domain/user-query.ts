/** What ListUsers can ask for, independent of protobuf and SQL. */
import type { UserState, UserType } from "./user.js";

export type TextMatch =
  | "equals"
  | "equalsIgnoreCase"
  | "startsWith"
  | "startsWithIgnoreCase"
  | "contains"
  | "containsIgnoreCase"
  | "endsWith"
  | "endsWithIgnoreCase";

export type UserFilter =
  | { kind: "userName"; value: string; match: TextMatch }
  | { kind: "state"; state: UserState }
  | { kind: "type"; type: UserType }
  | { kind: "ids"; ids: string[] }
  | { kind: "org"; orgId: string }
  | { kind: "and"; filters: UserFilter[] }
  | { kind: "or"; filters: UserFilter[] }
  | { kind: "not"; filter: UserFilter };

export type UserSortField =
  | "userName"
  | "firstName"
  | "lastName"
  | "nickName"
  | "displayName"
  | "email"
  | "state"
  | "type"
  | "creationDate";

export interface UserListQuery {
  filters: UserFilter[];
  /** Organizations whose users the caller may read, besides the caller itself. */
  visibleOrgs: "all" | string[];
  callerId: string;
  sort: UserSortField;
  asc: boolean;
  offset: number;
  limit: number;
}

export const DEFAULT_LIST_LIMIT = 100;
export const MAX_LIST_LIMIT = 1000;

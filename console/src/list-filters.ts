/** The user list's search, filters, sorting and page: read from and written to the URL, and turned into a ListUsers request. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { TextQueryMethod } from "../../gen/zitadel/object/v2/object_pb.js";
import { UserFieldName, type SearchQuerySchema } from "../../gen/zitadel/user/v2/query_pb.js";
import type { UserState } from "../../gen/zitadel/user/v2/user_pb.js";
import type { ListUsersRequestSchema } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { stateFromParam, stateParam } from "./user-state.js";

export const PAGE_SIZE = 20;

/** The sortable columns by their name in the URL. */
export const SORT_COLUMNS = {
  username: UserFieldName.USER_NAME,
  name: UserFieldName.DISPLAY_NAME,
  type: UserFieldName.TYPE,
  state: UserFieldName.STATE,
  created: UserFieldName.CREATION_DATE,
} as const;
export type SortColumn = keyof typeof SORT_COLUMNS;

export interface ListFilters {
  username: string;
  state: UserState | undefined;
  organizationId: string;
  sort: SortColumn;
  ascending: boolean;
  /** From 1. */
  page: number;
}

/** Newest first, as the server lists by default. */
const DEFAULTS: ListFilters = { username: "", state: undefined, organizationId: "", sort: "created", ascending: false, page: 1 };

const isSortColumn = (value: string | null): value is SortColumn => value !== null && Object.hasOwn(SORT_COLUMNS, value);

export function filtersFrom(query: URLSearchParams): ListFilters {
  const sort = query.get("sort");
  const page = Number(query.get("page"));
  return {
    username: query.get("username") ?? DEFAULTS.username,
    state: stateFromParam(query.get("state")),
    organizationId: query.get("org") ?? DEFAULTS.organizationId,
    sort: isSortColumn(sort) ? sort : DEFAULTS.sort,
    ascending: query.has("asc") ? query.get("asc") === "true" : DEFAULTS.ascending,
    page: Number.isInteger(page) && page > 1 ? page : DEFAULTS.page,
  };
}

/** The URL query for the filters; defaults are left out, so a plain list is just `#/users`. */
export function queryOf(filters: ListFilters): URLSearchParams {
  const query = new URLSearchParams();
  if (filters.username) query.set("username", filters.username);
  if (filters.state !== undefined) query.set("state", stateParam(filters.state));
  if (filters.organizationId) query.set("org", filters.organizationId);
  if (filters.sort !== DEFAULTS.sort) query.set("sort", filters.sort);
  if (filters.ascending !== DEFAULTS.ascending) query.set("asc", String(filters.ascending));
  if (filters.page !== DEFAULTS.page) query.set("page", String(filters.page));
  return query;
}

type SearchQuery = MessageInitShape<typeof SearchQuerySchema>;

export function listRequest(filters: ListFilters): MessageInitShape<typeof ListUsersRequestSchema> {
  const queries: SearchQuery[] = [];
  if (filters.username) {
    const value = { userName: filters.username, method: TextQueryMethod.CONTAINS_IGNORE_CASE };
    queries.push({ query: { case: "userNameQuery", value } });
  }
  if (filters.state !== undefined) queries.push({ query: { case: "stateQuery", value: { state: filters.state } } });
  if (filters.organizationId) {
    queries.push({ query: { case: "organizationIdQuery", value: { organizationId: filters.organizationId } } });
  }
  return {
    query: { offset: BigInt((filters.page - 1) * PAGE_SIZE), limit: PAGE_SIZE, asc: filters.ascending },
    sortingColumn: SORT_COLUMNS[filters.sort],
    queries,
  };
}

/** ListTargets and ListExecutions requests → domain list queries, with ZITADEL's paging rules. */
import type { PaginationRequest } from "../../gen/zitadel/filter/v2/filter_pb.js";
import { ExecutionFieldName, ExecutionType, TargetFieldName, type ExecutionSearchFilter, type TargetSearchFilter } from "../../gen/zitadel/action/v2/query_pb.js";
import { conditionId } from "../domain/actions.js";
import type { ExecutionFilter, ExecutionListQuery, ExecutionSortField, ListPage, TargetFilter, TargetListQuery, TargetSortField } from "../domain/action-query.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT } from "../domain/user-query.js";
import { conditionInFilter } from "./action-proto.js";
import { requireLength, textMatchOf } from "./from-proto.js";

/** Filters of one request; each becomes SQL. */
const MAX_FILTERS = 100;
/** Ids or conditions in one filter: each is a bound SQL parameter. */
const MAX_FILTER_VALUES = 1000;

const TARGET_SORT: Record<TargetFieldName, TargetSortField> = {
  [TargetFieldName.UNSPECIFIED]: "creationDate",
  [TargetFieldName.ID]: "id",
  [TargetFieldName.CREATED_DATE]: "creationDate",
  [TargetFieldName.CHANGED_DATE]: "changeDate",
  [TargetFieldName.NAME]: "name",
  [TargetFieldName.TARGET_TYPE]: "type",
  [TargetFieldName.URL]: "endpoint",
  [TargetFieldName.TIMEOUT]: "timeout",
  [TargetFieldName.INTERRUPT_ON_ERROR]: "interruptOnError",
};

const EXECUTION_SORT: Record<ExecutionFieldName, ExecutionSortField> = {
  [ExecutionFieldName.UNSPECIFIED]: "creationDate",
  [ExecutionFieldName.ID]: "id",
  [ExecutionFieldName.CREATED_DATE]: "creationDate",
  [ExecutionFieldName.CHANGED_DATE]: "changeDate",
};

/** ZITADEL's paging: 100 by default, more than 1,000 refused with its error; newest first unless asc; by creation date unless told. */
function page<S>(pagination: PaginationRequest | undefined, sorting: number | undefined, sorts: Record<number, S>, message: string): ListPage<S> {
  const limit = pagination?.limit || DEFAULT_LIST_LIMIT;
  if (limit > MAX_LIST_LIMIT) throw new DomainError("InvalidArgument", "QUERY-4M0fs", "Limit exceeded");
  const offset = Number(pagination?.offset ?? 0n);
  if (!Number.isSafeInteger(offset)) throw invalidArgument("invalid PaginationRequest.Offset: value is too large");
  const sort = sorts[sorting ?? 0];
  if (sort === undefined) throw invalidArgument(`invalid ${message}.SortingColumn: value must be one of the defined enum values`);
  return { sort, asc: pagination?.asc ?? false, offset, limit };
}

function bounded<T>(values: T[], field: string): T[] {
  if (values.length > MAX_FILTER_VALUES) throw invalidArgument(`invalid ${field}: value must contain no more than ${MAX_FILTER_VALUES} item(s)`);
  return values;
}

function filters<F, T>(list: F[], message: string, convert: (filter: F) => T): T[] {
  if (list.length > MAX_FILTERS) throw invalidArgument(`invalid ${message}.Filters: value must contain no more than ${MAX_FILTERS} item(s)`);
  return list.map(convert);
}

export function targetListQuery(req: { pagination?: PaginationRequest; sortingColumn?: TargetFieldName; filters: TargetSearchFilter[] }): TargetListQuery {
  return { ...page(req.pagination, req.sortingColumn, TARGET_SORT, "ListTargetsRequest"), filters: filters(req.filters, "ListTargetsRequest", targetFilter) };
}

function targetFilter({ filter }: TargetSearchFilter): TargetFilter {
  switch (filter.case) {
    case "targetNameFilter": {
      const match = textMatchOf(filter.value.method);
      if (!match) throw invalidArgument("invalid TargetNameFilter.Method: value must be one of the defined enum values");
      return { kind: "name", value: requireLength(filter.value.targetName, "TargetNameFilter", "TargetName", 0, 200), match };
    }
    case "inTargetIdsFilter":
      return { kind: "ids", ids: bounded(filter.value.targetIds, "InTargetIDsFilter.TargetIds") };
    case undefined:
      throw invalidArgument("invalid TargetSearchFilter.Filter: value is required");
  }
}

export function executionListQuery(req: { pagination?: PaginationRequest; sortingColumn?: ExecutionFieldName; filters: ExecutionSearchFilter[] }): ExecutionListQuery {
  const list = filters(req.filters, "ListExecutionsRequest", executionFilter).filter((filter) => filter !== undefined);
  return { ...page(req.pagination, req.sortingColumn, EXECUTION_SORT, "ListExecutionsRequest"), filters: list };
}

/** Undefined for a filter every execution here passes. */
function executionFilter({ filter }: ExecutionSearchFilter): ExecutionFilter | undefined {
  switch (filter.case) {
    case "inConditionsFilter":
      return { kind: "conditions", conditionIds: bounded(filter.value.conditions, "InConditionsFilter.Conditions").map((c) => conditionId(conditionInFilter(c))) };
    case "executionTypeFilter": {
      const type = filter.value.executionType;
      if (!(type in ExecutionType)) throw invalidArgument("invalid ExecutionTypeFilter.ExecutionType: value must be one of the defined enum values");
      // Every execution here is an event execution; of the other types there are none.
      return type === ExecutionType.EVENT ? undefined : { kind: "none" };
    }
    case "targetFilter":
      return { kind: "target", targetId: filter.value.targetId };
    case undefined:
      throw invalidArgument("invalid ExecutionSearchFilter.Filter: value is required");
  }
}

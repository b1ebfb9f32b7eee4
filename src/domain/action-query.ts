/** What ListTargets and ListExecutions can ask for, independent of protobuf and SQL. */
import type { TextMatch } from "./user-query.js";

export type TargetFilter = { kind: "name"; value: string; match: TextMatch } | { kind: "ids"; ids: string[] };

export type TargetSortField = "id" | "creationDate" | "changeDate" | "name" | "type" | "endpoint" | "timeout" | "interruptOnError";

export type ExecutionFilter =
  | { kind: "conditions"; conditionIds: string[] }
  | { kind: "target"; targetId: string }
  /** An execution type other than event: this server has none of those. */
  | { kind: "none" };

export type ExecutionSortField = "id" | "creationDate" | "changeDate";

export interface ListPage<S> {
  sort: S;
  asc: boolean;
  offset: number;
  limit: number;
}

/** Every filter must match. */
export interface TargetListQuery extends ListPage<TargetSortField> {
  filters: TargetFilter[];
}

export interface ExecutionListQuery extends ListPage<ExecutionSortField> {
  filters: ExecutionFilter[];
}

/** Translates ListTargets and ListExecutions filters and sorting into SQL, for either dialect. */
import { and, eq, inArray, sql, type Column, type SQL } from "drizzle-orm";
import type { ExecutionFilter, ExecutionListQuery, ExecutionSortField, TargetFilter, TargetListQuery, TargetSortField } from "../domain/action-query.js";
import type { TargetRow } from "./action-rows.js";
import { textCondition, type TextFunctions } from "./text-match-sql.js";

type TargetColumns = { [K in keyof TargetRow]: Column };
type ExecutionColumns = { conditionId: Column; targetId: Column; createdAt: Column; changedAt: Column };

const ALWAYS_FALSE = sql`1 = 0`;

export function actionQuerySql<E extends ExecutionColumns>(targets: TargetColumns, executions: E, text: TextFunctions) {
  function targetCondition(filter: TargetFilter): SQL {
    switch (filter.kind) {
      case "name":
        return textCondition(text, targets.name, targets.nameLower, filter.value, filter.match);
      case "ids":
        return filter.ids.length ? inArray(targets.id, filter.ids) : ALWAYS_FALSE;
    }
  }

  // The rows of an execution that has the target stand for the execution: they have its dates.
  function executionCondition(filter: ExecutionFilter): SQL {
    switch (filter.kind) {
      case "conditions":
        return filter.conditionIds.length ? inArray(executions.conditionId, filter.conditionIds) : ALWAYS_FALSE;
      case "target":
        return eq(executions.targetId, filter.targetId);
      case "none":
        return ALWAYS_FALSE;
    }
  }

  const TARGET_SORT: Record<TargetSortField, Column> = {
    id: targets.id,
    creationDate: targets.createdAt,
    changeDate: targets.changedAt,
    name: targets.name,
    type: targets.type,
    endpoint: targets.endpoint,
    timeout: targets.timeoutMs,
    interruptOnError: targets.interruptOnError,
  };

  const direction = (asc: boolean) => (asc ? sql`asc` : sql`desc`);

  /** An execution as listed (rows grouped by condition): its dates are its rows' (they all have the same). */
  const executionHead = {
    conditionId: executions.conditionId as E["conditionId"],
    createdAt: sql`min(${executions.createdAt})`.mapWith(executions.createdAt) as SQL<Date>,
    changedAt: sql`max(${executions.changedAt})`.mapWith(executions.changedAt) as SQL<Date>,
  };
  const EXECUTION_SORT: Record<ExecutionSortField, SQL | Column> = {
    id: executionHead.conditionId,
    creationDate: executionHead.createdAt,
    changeDate: executionHead.changedAt,
  };

  return {
    targetsWhere: (query: TargetListQuery) => and(...query.filters.map(targetCondition)),
    /** Then by id, so that pages are stable. */
    targetsOrderBy: (query: TargetListQuery) => [sql`${TARGET_SORT[query.sort]} ${direction(query.asc)}`, sql`${targets.id} ${direction(query.asc)}`],
    executionsWhere: (query: ExecutionListQuery) => and(...query.filters.map(executionCondition)),
    executionHead,
    /** Of the heads: then by condition, so that pages are stable. */
    executionsOrderBy: (query: ExecutionListQuery) => [
      sql`${EXECUTION_SORT[query.sort]} ${direction(query.asc)}`,
      sql`${executionHead.conditionId} ${direction(query.asc)}`,
    ],
  };
}

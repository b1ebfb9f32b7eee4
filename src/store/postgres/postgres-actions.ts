/**
 * Actions v2 targets and executions on PostgreSQL, where several instances write at once: the
 * unique index keeps names unique, setting an execution holds a lock on its condition and a key
 * share lock on its targets (so none is deleted before the execution commits), and deleting a
 * target deletes its execution rows by cascade.
 */
import { count, countDistinct, eq, inArray, sql } from "drizzle-orm";
import type { Execution, Target } from "../../domain/actions.js";
import type { ExecutionListQuery, TargetListQuery } from "../../domain/action-query.js";
import { actionQuerySql } from "../action-query-sql.js";
import { executionRows, fromTargetRow, targetsByCondition, toExecutions, toTargetRow } from "../action-rows.js";
import type { ActionStore } from "../store.js";
import { guard } from "./guard.js";
import { POSTGRES_TEXT } from "./postgres-text.js";
import type { PgDb } from "./postgres-store.js";
import * as schema from "./schema.js";

const targets = schema.actionTargets;
const executions = schema.actionExecutions;
const query = actionQuerySql(targets, executions, POSTGRES_TEXT);

/** The first key of the transaction lock that serializes the changes of one execution (the second is its condition's hash). */
const EXECUTION_LOCK = 7_242_002;

const READ_ONLY = { isolationLevel: "repeatable read", accessMode: "read only" } as const;

export class PostgresActions implements ActionStore {
  constructor(private readonly db: PgDb) {}

  addTarget(target: Target): Promise<void> {
    return guard(async () => {
      await this.db.insert(targets).values(toTargetRow(target));
    });
  }

  updateTarget(target: Target): Promise<boolean> {
    const { id, createdAt: _, ...row } = toTargetRow(target);
    return guard(async () => (await this.db.update(targets).set(row).where(eq(targets.id, id)).returning({ id: targets.id })).length > 0);
  }

  deleteTarget(id: string): Promise<boolean> {
    return guard(async () => (await this.db.delete(targets).where(eq(targets.id, id)).returning({ id: targets.id })).length > 0);
  }

  getTarget(id: string): Promise<Target | undefined> {
    return guard(async () => {
      const [row] = await this.db.select().from(targets).where(eq(targets.id, id));
      return row && fromTargetRow(row);
    });
  }

  listTargets(list: TargetListQuery): Promise<{ total: number; targets: Target[] }> {
    const where = query.targetsWhere(list);
    return guard(() =>
      this.db.transaction(async (tx) => {
        const [counted] = await tx.select({ n: count() }).from(targets).where(where);
        const rows = await tx.select().from(targets).where(where).orderBy(...query.targetsOrderBy(list)).limit(list.limit).offset(list.offset);
        return { total: counted?.n ?? 0, targets: rows.map(fromTargetRow) };
      }, READ_ONLY),
    );
  }

  setExecution(conditionId: string, targetIds: string[], at: Date): Promise<boolean> {
    return guard(() =>
      this.db.transaction(async (tx) => {
        await tx.execute(sql`select pg_advisory_xact_lock(${EXECUTION_LOCK}, hashtext(${conditionId}))`);
        const wanted = [...new Set(targetIds)];
        if (wanted.length) {
          const found = await tx.select({ id: targets.id }).from(targets).where(inArray(targets.id, wanted)).for("key share");
          if (found.length !== wanted.length) return false;
        }
        const [existing] = await tx.select({ createdAt: executions.createdAt }).from(executions).where(eq(executions.conditionId, conditionId)).limit(1);
        await tx.delete(executions).where(eq(executions.conditionId, conditionId));
        if (targetIds.length) await tx.insert(executions).values(executionRows(conditionId, targetIds, existing?.createdAt ?? at, at));
        return true;
      }),
    );
  }

  listExecutions(list: ExecutionListQuery): Promise<{ total: number; executions: Execution[] }> {
    const where = query.executionsWhere(list);
    return guard(() =>
      this.db.transaction(async (tx) => {
        const [counted] = await tx.select({ n: countDistinct(executions.conditionId) }).from(executions).where(where);
        const heads = await tx
          .select(query.executionHead)
          .from(executions)
          .where(where)
          .groupBy(executions.conditionId)
          .orderBy(...query.executionsOrderBy(list))
          .limit(list.limit)
          .offset(list.offset);
        const rows = heads.length
          ? await tx
              .select({ conditionId: executions.conditionId, targetId: executions.targetId })
              .from(executions)
              .where(inArray(executions.conditionId, heads.map((head) => head.conditionId)))
              .orderBy(executions.conditionId, executions.position)
          : [];
        return { total: counted?.n ?? 0, executions: toExecutions(heads, rows) };
      }, READ_ONLY),
    );
  }

  executionTargets(conditionIds: string[]): Promise<{ conditionId: string; targets: Target[] }[]> {
    return guard(async () => {
      const rows = await this.db
        .select({ conditionId: executions.conditionId, target: targets })
        .from(executions)
        .innerJoin(targets, eq(targets.id, executions.targetId))
        .where(inArray(executions.conditionId, conditionIds))
        .orderBy(executions.conditionId, executions.position);
      return targetsByCondition(rows);
    });
  }
}

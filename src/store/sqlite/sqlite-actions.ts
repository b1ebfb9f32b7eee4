/**
 * Actions v2 targets and executions on SQLite. Writes go through the group commit like every
 * other write (one writer: a check and the write after it in one transaction cannot be raced);
 * reads answer once what they saw is durable.
 */
import { and, count, countDistinct, eq, inArray, ne } from "drizzle-orm";
import type { BetterSQLite3Database } from "drizzle-orm/better-sqlite3";
import type { Execution, Target } from "../../domain/actions.js";
import type { ExecutionListQuery, TargetListQuery } from "../../domain/action-query.js";
import { actionQuerySql } from "../action-query-sql.js";
import { executionRows, fromTargetRow, targetsByCondition, toExecutions, toTargetRow } from "../action-rows.js";
import { ConflictError, type ActionStore } from "../store.js";
import type { GroupCommit } from "./group-commit.js";
import * as schema from "./schema.js";
import { SQLITE_TEXT } from "./sqlite-text.js";

type Db = BetterSQLite3Database<typeof schema>;

const targets = schema.actionTargets;
const executions = schema.actionExecutions;
const query = actionQuerySql(targets, executions, SQLITE_TEXT);

export class SqliteActions implements ActionStore {
  constructor(
    private readonly db: Db,
    private readonly commits: GroupCommit<Db>,
    /** Resolves when what is committed now is durable. */
    private readonly durable: () => Promise<void>,
  ) {}

  private async onceDurable<T>(value: T): Promise<T> {
    await this.durable();
    return value;
  }

  addTarget(target: Target): Promise<void> {
    const row = toTargetRow(target);
    return this.commits.write((db) => {
      refuseTakenName(db, row.name, row.id);
      db.insert(targets).values(row).run();
    });
  }

  async updateTarget(target: Target): Promise<boolean> {
    const { id, createdAt: _, ...row } = toTargetRow(target);
    let updated = false;
    await this.commits.write((db) => {
      refuseTakenName(db, row.name, id);
      updated = db.update(targets).set(row).where(eq(targets.id, id)).run().changes > 0;
    });
    return updated;
  }

  async deleteTarget(id: string): Promise<boolean> {
    let deleted = false;
    // The target's execution rows go with it (foreign key, on delete cascade).
    await this.commits.write((db) => (deleted = db.delete(targets).where(eq(targets.id, id)).run().changes > 0));
    return deleted;
  }

  async getTarget(id: string): Promise<Target | undefined> {
    const row = this.db.select().from(targets).where(eq(targets.id, id)).get();
    return this.onceDurable(row && fromTargetRow(row));
  }

  async listTargets(list: TargetListQuery): Promise<{ total: number; targets: Target[] }> {
    const where = query.targetsWhere(list);
    const found = this.db.transaction(
      (tx) => {
        const total = tx.select({ n: count() }).from(targets).where(where).get()?.n ?? 0;
        const rows = tx.select().from(targets).where(where).orderBy(...query.targetsOrderBy(list)).limit(list.limit).offset(list.offset).all();
        return { total, targets: rows.map(fromTargetRow) };
      },
      { behavior: "deferred" },
    );
    return this.onceDurable(found);
  }

  async setExecution(conditionId: string, targetIds: string[], at: Date): Promise<boolean> {
    let set = false;
    await this.commits.write((db) => {
      const wanted = [...new Set(targetIds)];
      if (wanted.length && db.select({ n: count() }).from(targets).where(inArray(targets.id, wanted)).get()?.n !== wanted.length) return;
      const existing = db.select({ createdAt: executions.createdAt }).from(executions).where(eq(executions.conditionId, conditionId)).limit(1).get();
      db.delete(executions).where(eq(executions.conditionId, conditionId)).run();
      if (targetIds.length) db.insert(executions).values(executionRows(conditionId, targetIds, existing?.createdAt ?? at, at)).run();
      set = true;
    });
    return set;
  }

  async listExecutions(list: ExecutionListQuery): Promise<{ total: number; executions: Execution[] }> {
    const where = query.executionsWhere(list);
    const found = this.db.transaction(
      (tx) => {
        const total = tx.select({ n: countDistinct(executions.conditionId) }).from(executions).where(where).get()?.n ?? 0;
        const heads = tx
          .select(query.executionHead)
          .from(executions)
          .where(where)
          .groupBy(executions.conditionId)
          .orderBy(...query.executionsOrderBy(list))
          .limit(list.limit)
          .offset(list.offset)
          .all();
        const rows = heads.length
          ? tx
              .select({ conditionId: executions.conditionId, targetId: executions.targetId })
              .from(executions)
              .where(inArray(executions.conditionId, heads.map((head) => head.conditionId)))
              .orderBy(executions.conditionId, executions.position)
              .all()
          : [];
        return { total, executions: toExecutions(heads, rows) };
      },
      { behavior: "deferred" },
    );
    return this.onceDurable(found);
  }

  async executionTargets(conditionIds: string[]): Promise<{ conditionId: string; targets: Target[] }[]> {
    const rows = this.db
      .select({ conditionId: executions.conditionId, target: targets })
      .from(executions)
      .innerJoin(targets, eq(targets.id, executions.targetId))
      .where(inArray(executions.conditionId, conditionIds))
      .orderBy(executions.conditionId, executions.position)
      .all();
    return this.onceDurable(targetsByCondition(rows));
  }
}

/** With one writer, a read inside the write's transaction is enough to keep names unique. */
function refuseTakenName(db: Db, name: string, id: string): void {
  if (db.select({ id: targets.id }).from(targets).where(and(eq(targets.name, name), ne(targets.id, id))).get()) throw new ConflictError("targetName");
}

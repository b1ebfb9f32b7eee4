/**
 * A user's commit as one PostgreSQL statement, so that it costs one round trip instead of one per
 * statement plus BEGIN and COMMIT (issue 23; bench/FINDINGS.md, round "PostgreSQL in one round
 * trip"). The users row is written first, in a data-modifying WITH; every other write of the plan
 * is its own WITH that runs only if that row was written, and the statement answers how many were.
 * PostgreSQL runs every data-modifying WITH of a statement to completion in the statement's one
 * implicit transaction: all of the commit or none of it.
 *
 * The guarantees are those of the transaction it replaces: the UPDATE still waits for a concurrent
 * change's row lock and then finds the row at another sequence (0 rows: a "sequence" conflict),
 * a unique violation still names its constraint, and the count rows are upserted in the plan's
 * order. A plan's session write, which reads before it writes, is not part of it: the caller runs
 * it in a transaction with this statement.
 */
import { getTableColumns, sql, type SQL } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { WritePlan } from "../write-plan.js";
import * as schema from "./schema.js";

/** The statement for every write of `plan` but its session's; it answers `written`: 1, or 0 for a lost race. */
export function commitStatement(plan: WritePlan): SQL<{ written: number }> {
  const { user } = plan;
  const written = plan.update
    ? sql`update ${schema.users} set ${sql.join(
        plan.update.columns.map((name) => sql`${sql.identifier(columnOf(schema.users, name).name)} = ${typed(columnOf(schema.users, name), user[name])}`),
        sql`, `,
      )} where ${schema.users.id} = ${user.id} and ${schema.users.sequence} = ${plan.update.expectedSequence} returning 1`
    : sql`insert into ${schema.users} ${insertedRows(schema.users, [user])} returning 1`;
  const then: SQL[] = [];
  const ifWritten = sql`where exists (select 1 from written)`;
  then.push(sql`insert into ${schema.events} ${insertedRows(schema.events, plan.events)} ${ifWritten}`);
  if (plan.outbox.length) then.push(sql`insert into ${schema.outbox} ${insertedRows(schema.outbox, plan.outbox)} ${ifWritten}`);
  if (plan.grants.length) then.push(sql`insert into ${schema.roleGrants} ${insertedRows(schema.roleGrants, plan.grants)} ${ifWritten}`);
  if (plan.token) then.push(sql`insert into ${schema.tokens} ${insertedRows(schema.tokens, [plan.token])} ${ifWritten}`);
  if (plan.endSessionsOf) {
    then.push(
      sql`update ${schema.sessions} set ${sql.identifier(schema.sessions.terminated.name)} = true where ${schema.sessions.userId} = ${plan.endSessionsOf} and not ${schema.sessions.terminated} and exists (select 1 from written)`,
    );
  }
  if (plan.counts.length) {
    const counts = plan.counts.map(({ orgId, state, type, shard, delta }) => ({ orgId, state, type, shard, count: delta }));
    const key = [schema.userCounts.orgId, schema.userCounts.state, schema.userCounts.type, schema.userCounts.shard].map((c) => sql.identifier(c.name));
    const count = sql.identifier(schema.userCounts.count.name);
    then.push(
      sql`insert into ${schema.userCounts} ${insertedRows(schema.userCounts, counts)} ${ifWritten} on conflict (${sql.join(key, sql`, `)}) do update set ${count} = ${schema.userCounts}.${count} + excluded.${count}`,
    );
  }
  const steps = then.map((step, i) => sql`, ${sql.identifier(`then_${i}`)} as (${step})`);
  return sql<{ written: number }>`with written as (${written})${sql.join(steps)} select count(*)::int as written from written`;
}

function columnOf(table: PgTable, name: string): PgColumn {
  const column = (getTableColumns(table) as Record<string, PgColumn>)[name];
  if (!column) throw new Error(`no column ${name} in the write plan's table`);
  return column;
}

/**
 * A value as a parameter the column encodes (a Date as its timestamp, JSON as text), cast to the
 * column's type: in `select ... from (values ...)` nothing else tells PostgreSQL the types.
 */
const typed = (column: PgColumn, value: unknown): SQL => sql`${sql.param(value, column)}::${sql.raw(column.getSQLType())}`;

/** `(columns) select * from (values (...), ...) as v` for rows keyed by the table's property names. */
function insertedRows<R extends object>(table: PgTable, rows: readonly R[]): SQL {
  const names = Object.keys(rows[0]!) as (keyof R & string)[];
  const columns = names.map((name) => columnOf(table, name));
  const values = rows.map((row) => sql`(${sql.join(columns.map((column, i) => typed(column, row[names[i]!])), sql`, `)})`);
  return sql`(${sql.join(
    columns.map((c) => sql.identifier(c.name)),
    sql`, `,
  )}) select * from (values ${sql.join(values, sql`, `)}) as v`;
}

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
 *
 * The text depends only on the plan's shape (which columns change, how many rows of each kind), so
 * it is made once per shape and named, and PostgreSQL parses and plans it once per connection;
 * each call only lists its values. Building it through Drizzle's SQL builder on every call cost the
 * server more than the round trips it saved (the same FINDINGS round).
 */
import { getTableColumns, getTableName } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { WritePlan } from "../write-plan.js";
import * as schema from "./schema.js";

/** A statement as node-postgres takes it: a name when it is worth preparing. */
export interface Statement {
  name?: string;
  text: string;
  values: unknown[];
}

/** Shapes whose text is kept and prepared; past this, statements go unnamed (every connection would keep each). */
const MAX_SHAPES = 200;

const texts = new Map<string, { name: string; text: string }>();

/** The statement for every write of `plan` but its session's; it answers `written`: 1, or 0 for a lost race. */
export function commitStatement(plan: WritePlan): Statement {
  const rows = rowsOf(plan);
  const shape = shapeOf(plan, rows);
  let known = texts.get(shape);
  if (!known) {
    const made = { name: `zus_commit_${texts.size + 1}`, text: textOf(plan, rows) };
    if (texts.size < MAX_SHAPES) texts.set(shape, made);
    else return { text: made.text, values: valuesOf(plan, rows) };
    known = made;
  }
  return { name: known.name, text: known.text, values: valuesOf(plan, rows) };
}

/** The rows each table gets, in the order the statement writes them (after the users row). */
function rowsOf(plan: WritePlan): [PgTable, readonly object[]][] {
  const counts = plan.counts.map(({ orgId, state, type, shard, delta }) => ({ orgId, state, type, shard, count: delta }));
  return [
    [schema.events, plan.events],
    [schema.outbox, plan.outbox],
    [schema.roleGrants, plan.grants],
    [schema.tokens, plan.token ? [plan.token] : []],
    [schema.userCounts, counts],
  ];
}

function shapeOf(plan: WritePlan, rows: [PgTable, readonly object[]][]): string {
  const user = plan.update ? `u:${plan.update.columns.join(",")}` : `i:${Object.keys(plan.user).join(",")}`;
  const others = rows.map(([table, list]) => `${getTableName(table)}:${list.length}:${list.length ? Object.keys(list[0]!).join(",") : ""}`);
  return [user, ...others, plan.endSessionsOf ? "end" : ""].join("|");
}

/** The values in the order textOf numbers them. */
function valuesOf(plan: WritePlan, rows: [PgTable, readonly object[]][]): unknown[] {
  const values: unknown[] = [];
  const { user } = plan;
  if (plan.update) {
    for (const name of plan.update.columns) values.push(encoded(columnOf(schema.users, name), user[name]));
    values.push(user.id, plan.update.expectedSequence);
  } else {
    for (const name of Object.keys(user)) values.push(encoded(columnOf(schema.users, name), user[name as keyof typeof user]));
  }
  for (const [table, list] of rows) {
    for (const row of list) for (const [name, value] of Object.entries(row)) values.push(encoded(columnOf(table, name), value));
  }
  if (plan.endSessionsOf) values.push(plan.endSessionsOf);
  return values;
}

function textOf(plan: WritePlan, rows: [PgTable, readonly object[]][]): string {
  let n = 0;
  const param = (column: PgColumn) => `$${++n}::${column.getSQLType()}`;
  const { user } = plan;
  let written: string;
  if (plan.update) {
    const set = plan.update.columns.map((name) => `${quoted(columnOf(schema.users, name).name)} = ${param(columnOf(schema.users, name))}`);
    written = `update users set ${set.join(", ")} where id = ${param(schema.users.id)} and sequence = ${param(schema.users.sequence)} returning 1`;
  } else {
    written = `insert into users ${inserted(schema.users, [user], param)} returning 1`;
  }
  const then: string[] = [];
  for (const [table, list] of rows) {
    if (!list.length) continue;
    let step = `insert into ${quoted(getTableName(table))} ${inserted(table, list, param)} where exists (select 1 from written)`;
    if (table === schema.userCounts) step += " on conflict (org_id, state, type, shard) do update set count = user_counts.count + excluded.count";
    then.push(step);
  }
  if (plan.endSessionsOf) {
    then.push(`update sessions set terminated = true where user_id = ${param(schema.sessions.userId)} and not terminated and exists (select 1 from written)`);
  }
  const steps = then.map((step, i) => `, then_${i} as (${step})`).join("");
  return `with written as (${written})${steps} select count(*)::int as written from written`;
}

/** `(columns) select * from (values (...), ...) as v`: the casts tell PostgreSQL each value's type, which VALUES alone does not. */
function inserted(table: PgTable, rows: readonly object[], param: (column: PgColumn) => string): string {
  const columns = Object.keys(rows[0]!).map((name) => columnOf(table, name));
  const values = rows.map(() => `(${columns.map(param).join(", ")})`);
  return `(${columns.map((c) => quoted(c.name)).join(", ")}) select * from (values ${values.join(", ")}) as v`;
}

function columnOf(table: PgTable, name: string): PgColumn {
  const column = (getTableColumns(table) as Record<string, PgColumn>)[name];
  if (!column) throw new Error(`no column ${name} in ${getTableName(table)}`);
  return column;
}

/** As Drizzle would send it: a Date as its ISO text, JSON as text; null and undefined as NULL. */
const encoded = (column: PgColumn, value: unknown): unknown => (value === null || value === undefined ? null : column.mapToDriverValue(value));

const quoted = (name: string) => `"${name}"`;

/**
 * Users' commits as one PostgreSQL statement, so that they cost one round trip instead of one per
 * statement plus BEGIN and COMMIT, and the commits of one event-loop turn share it (issue 23;
 * bench/FINDINGS.md, round "PostgreSQL in one round trip"). Each plan's users row is written in a
 * data-modifying WITH of its own; every other write of that plan is a WITH that runs only if its
 * row was written; the statement answers the plans whose row was. PostgreSQL runs every
 * data-modifying WITH of a statement to completion in the statement's one implicit transaction.
 *
 * The guarantees are those of a transaction per plan: an UPDATE still waits for a concurrent
 * change's row lock and then finds the row at another sequence (not written: a "sequence"
 * conflict for that plan alone), and a unique violation still names its constraint (it fails the
 * whole statement; the caller then runs the plans one by one). The plans of one statement are of
 * different users (one row cannot be changed twice in a statement), and their count changes are
 * summed into one upsert, taken in key order so that concurrent statements lock count rows in the
 * same order. A plan's session write, which reads before it writes, is not part of it: the caller
 * runs it in a transaction with this statement.
 *
 * The text is plain strings with numbered parameters: building it through Drizzle's SQL builder on
 * every call cost the server more than the round trips it saved (the same FINDINGS round). A lone
 * plan's text depends only on its shape (which columns change, how many rows of each kind), so it
 * is made once per shape and named, and PostgreSQL parses and plans it once per connection; a
 * statement of several plans is made each time, since their mixes seldom repeat.
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

/** The rows each plan gives each table after its users row, in the order the statement writes them. */
type PlanRows = [PgTable, readonly object[]][];

/**
 * The statement for every write of `plans` (of different users) but their sessions'; it answers
 * one row `{ p }` for each plan whose users row was written, p its index in `plans`.
 */
export function commitStatement(plans: readonly WritePlan[]): Statement {
  const rows = plans.map(rowsOf);
  const values = valuesOf(plans, rows);
  if (plans.length > 1) return { text: textOf(plans, rows), values };
  const shape = shapeOf(plans[0]!, rows[0]!);
  let known = texts.get(shape);
  if (!known) {
    known = { name: `zus_commit_${texts.size + 1}`, text: textOf(plans, rows) };
    if (texts.size >= MAX_SHAPES) return { text: known.text, values };
    texts.set(shape, known);
  }
  return { ...known, values };
}

function rowsOf(plan: WritePlan): PlanRows {
  return [
    [schema.events, plan.events],
    [schema.outbox, plan.outbox],
    [schema.roleGrants, plan.grants],
    [schema.tokens, plan.token ? [plan.token] : []],
  ];
}

function shapeOf(plan: WritePlan, rows: PlanRows): string {
  const user = plan.update ? `u:${plan.update.columns.join(",")}` : `i:${Object.keys(plan.user).join(",")}`;
  const others = rows.map(([table, list]) => `${getTableName(table)}:${list.length}:${list.length ? Object.keys(list[0]!).join(",") : ""}`);
  return [user, ...others, `counts:${plan.counts.length}`, plan.endSessionsOf ? "end" : ""].join("|");
}

/** The values in the order textOf numbers them: each plan's, then every plan's count changes. */
function valuesOf(plans: readonly WritePlan[], rows: readonly PlanRows[]): unknown[] {
  const values: unknown[] = [];
  plans.forEach((plan, i) => {
    const { user } = plan;
    if (plan.update) {
      for (const name of plan.update.columns) values.push(encoded(columnOf(schema.users, name), user[name]));
      values.push(user.id, plan.update.expectedSequence);
    } else {
      for (const name of Object.keys(user)) values.push(encoded(columnOf(schema.users, name), user[name as keyof typeof user]));
    }
    for (const [table, list] of rows[i]!) {
      for (const row of list) for (const [name, value] of Object.entries(row)) values.push(encoded(columnOf(table, name), value));
    }
    if (plan.endSessionsOf) values.push(plan.endSessionsOf);
  });
  for (const plan of plans) for (const { orgId, state, type, shard, delta } of plan.counts) values.push(orgId, state, type, shard, delta);
  return values;
}

function textOf(plans: readonly WritePlan[], rows: readonly PlanRows[]): string {
  let n = 0;
  const param = (type: string) => `$${++n}::${type}`;
  const typed = (column: PgColumn) => param(column.getSQLType());
  const ctes: string[] = [];
  plans.forEach((plan, i) => {
    const written = `w${i}`;
    if (plan.update) {
      const set = plan.update.columns.map((name) => `${quoted(columnOf(schema.users, name).name)} = ${typed(columnOf(schema.users, name))}`);
      ctes.push(`${written} as (update users set ${set.join(", ")} where id = ${typed(schema.users.id)} and sequence = ${typed(schema.users.sequence)} returning 1)`);
    } else {
      ctes.push(`${written} as (insert into users ${inserted(schema.users, [plan.user], typed)} returning 1)`);
    }
    const ifWritten = `where exists (select 1 from ${written})`;
    let step = 0;
    for (const [table, list] of rows[i]!) {
      if (list.length) ctes.push(`${written}_${step++} as (insert into ${quoted(getTableName(table))} ${inserted(table, list, typed)} ${ifWritten})`);
    }
    if (plan.endSessionsOf) {
      ctes.push(`${written}_${step++} as (update sessions set terminated = true where user_id = ${typed(schema.sessions.userId)} and not terminated and exists (select 1 from ${written}))`);
    }
  });
  ctes.push(`written as (${plans.map((_, i) => `select ${i} as p from w${i}`).join(" union all ")})`);
  const counts = plans.flatMap((plan, i) => plan.counts.map(() => `(${param("text")}, ${param("text")}, ${param("text")}, ${param("integer")}, ${param("integer")}, ${i})`));
  if (counts.length) {
    ctes.push(
      `counts as (insert into user_counts (org_id, state, type, shard, count) select org_id, state, type, shard, sum(delta) from (values ${counts.join(", ")}) as v (org_id, state, type, shard, delta, p) ` +
        "where p in (select p from written) group by org_id, state, type, shard order by org_id, state, type, shard " +
        "on conflict (org_id, state, type, shard) do update set count = user_counts.count + excluded.count)",
    );
  }
  return `with ${ctes.join(", ")} select p from written`;
}

/** `(columns) select * from (values (...), ...) as v`: the casts tell PostgreSQL each value's type, which VALUES alone does not. */
function inserted(table: PgTable, rows: readonly object[], typed: (column: PgColumn) => string): string {
  const columns = Object.keys(rows[0]!).map((name) => columnOf(table, name));
  const values = rows.map(() => `(${columns.map(typed).join(", ")})`);
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

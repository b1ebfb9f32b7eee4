/**
 * Users' commits as one PostgreSQL statement, so that they cost one round trip instead of one per
 * statement plus BEGIN and COMMIT, and the commits of one event-loop turn share it (issue 23;
 * bench/FINDINGS.md, round "PostgreSQL in one round trip"). The text is one and the same for any
 * number and mix of plans: each column travels as an array parameter, one element a row, and
 * `unnest` turns them back into rows, so the statement is named and PostgreSQL parses and plans it
 * once per connection; the text made per batch was ~1 KB a plan, parsed and planned every time
 * (round "2026-12-06, PostgreSQL commits as one named statement").
 *
 * Each plan is a row of `v` with its index `p`. The rows of the other tables are inserted in the
 * order of their arrays (`with ordinality`): their ids give a user's events and deliveries their
 * order, which a semi-join left to the planner need not keep. A new user's row is inserted; a change updates
 * the row only where it is still at the sequence the change was decided on, so an UPDATE that
 * waited for a concurrent change's row lock finds the row at another sequence and leaves it (a
 * "sequence" conflict for that plan alone). A change sets every column from the plan's row: only
 * commits write users rows and each moves the sequence (store.ts, UserCommit), so the columns it
 * did not change hold the same values, and PostgreSQL compares values, not the SET list, when it
 * decides whether an index needs a new entry. Every other write of a plan runs only if its users
 * row was written (`written`); the statement answers those plans' indexes. A unique violation
 * names its constraint and fails the whole statement (the caller then runs the plans one by one).
 * PostgreSQL runs every data-modifying WITH of a statement to completion in its one implicit
 * transaction.
 *
 * The plans of one statement are of different users (one row cannot be changed twice in a
 * statement); their count changes are summed into one upsert, taken in key order so that
 * concurrent statements lock count rows in the same order. A plan's session write, which reads
 * before it writes, is not part of it: the caller runs it in a transaction with this statement.
 */
import { getTableColumns, getTableName } from "drizzle-orm";
import type { PgColumn, PgTable } from "drizzle-orm/pg-core";
import type { CountChange, EventRow, OutboxRow, WritePlan } from "../write-plan.js";
import * as schema from "./schema.js";

/** A statement as node-postgres takes it: a name when it is worth preparing. */
export interface Statement {
  name?: string;
  text: string;
  values: unknown[];
}

/** The rows of one table a plan writes after its users row, and the row fields each column takes. */
interface Section<R extends object> {
  table: PgTable;
  /** Every field of R: a new field fails to compile here until it has its column. */
  fields: Record<keyof R & string, true>;
  rows(plan: WritePlan): readonly R[];
}

type RowOf<K extends keyof WritePlan> = NonNullable<WritePlan[K]> extends readonly (infer R)[] ? R : NonNullable<WritePlan[K]>;

/** A table's written fields with their columns, looked up once. */
type Columns = [field: string, column: PgColumn][];

const columnsOf = (table: PgTable, fields: readonly string[]): Columns => fields.map((field) => [field, columnOf(table, field)]);

const section = <R extends object>({ table, fields, rows }: Section<R>) => ({
  table,
  columns: columnsOf(table, Object.keys(fields)),
  rows: rows as (plan: WritePlan) => readonly object[],
});

const SECTIONS = [
  section<EventRow>({
    table: schema.events,
    fields: { aggregateId: true, sequence: true, type: true, payload: true, actor: true, resourceOwner: true, createdAt: true },
    rows: (plan) => plan.events,
  }),
  section<OutboxRow>({
    table: schema.outbox,
    fields: { destination: true, userId: true, sequence: true, txn: true, dueAt: true, createdAt: true },
    rows: (plan) => plan.outbox,
  }),
  section<RowOf<"grants">>({ table: schema.roleGrants, fields: { userId: true, orgId: true, role: true }, rows: (plan) => plan.grants }),
  section<RowOf<"token">>({ table: schema.tokens, fields: { hash: true, userId: true, createdAt: true }, rows: (plan) => (plan.token ? [plan.token] : []) }),
];

const USER_COLUMNS = columnsOf(schema.users, Object.keys(getTableColumns(schema.users)));

const COUNT_FIELDS = ["orgId", "state", "type", "shard", "delta"] as const satisfies readonly (keyof CountChange)[];

/**
 * $1 the plans' indexes, $2 the sequence each change expects (null: a new user), $3 whether it
 * ends the user's sessions, then a users column each; then each section's plan indexes and
 * columns; then the count changes' columns and plan indexes.
 */
const TEXT = textOf();

/**
 * The statement for every write of `plans` (of different users) but their sessions'; it answers
 * one row `{ p }` for each plan whose users row was written, p its index in `plans`.
 */
export function commitStatement(plans: readonly WritePlan[]): Statement {
  const values: unknown[] = [plans.map((_, p) => p), plans.map((plan) => plan.update?.expectedSequence ?? null), plans.map((plan) => plan.endSessionsOf !== undefined)];
  pushColumns(values, USER_COLUMNS, plans.map((plan) => plan.user as unknown as Record<string, unknown>));
  for (const { columns, rows } of SECTIONS) {
    const owners: number[] = [];
    const list: Record<string, unknown>[] = [];
    plans.forEach((plan, p) => {
      for (const row of rows(plan)) {
        owners.push(p);
        list.push(row as Record<string, unknown>);
      }
    });
    values.push(owners);
    pushColumns(values, columns, list);
  }
  const counts = plans.flatMap((plan, p) => plan.counts.map((change) => ({ ...change, p })));
  for (const field of COUNT_FIELDS) values.push(counts.map((change) => change[field]));
  values.push(counts.map((change) => change.p));
  return { name: "zus_commit", text: TEXT, values };
}

/** One array a column, an element a row, encoded as Drizzle would send it. */
function pushColumns(values: unknown[], columns: Columns, rows: readonly Record<string, unknown>[]): void {
  for (const [field, column] of columns) values.push(rows.map((row) => encoded(column, row[field])));
}

function textOf(): string {
  let n = 0;
  const param = (type: string) => `$${++n}::${type}[]`;
  const unnest = (types: string[]) => `unnest(${types.map(param).join(", ")})`;
  const names = (columns: Columns) => columns.map(([, c]) => quoted(c.name)).join(", ");
  const types = (columns: Columns) => columns.map(([, c]) => c.getSQLType());
  const users = names(USER_COLUMNS);
  const set = USER_COLUMNS.filter(([field]) => field !== "id").map(([, c]) => `${quoted(c.name)} = v.${quoted(c.name)}`);
  const ctes = [
    `v as (select * from ${unnest(["integer", "integer", "boolean", ...types(USER_COLUMNS)])} as v (p, expected, ends, ${users}))`,
    `updated as (update users u set ${set.join(", ")} from v where v.expected is not null and u.id = v.id and u.sequence = v.expected returning v.p)`,
    `inserted as (insert into users (${users}) select ${users} from v where v.expected is null returning id)`,
    "written as (select p from updated union all select v.p from v join inserted using (id))",
  ];
  SECTIONS.forEach(({ table, columns }, i) => {
    ctes.push(
      `s${i} as (insert into ${quoted(getTableName(table))} (${names(columns)}) select ${names(columns)} ` +
        `from ${unnest(["integer", ...types(columns)])} with ordinality as r (p, ${names(columns)}, n) where r.p in (select p from written) order by r.n)`,
    );
  });
  ctes.push(
    "ended as (update sessions s set terminated = true from v where v.ends and s.user_id = v.id and not s.terminated and v.p in (select p from written))",
    "counts as (insert into user_counts (org_id, state, type, shard, count) select org_id, state, type, shard, sum(delta) " +
      `from ${unnest(["text", "text", "text", "integer", "integer", "integer"])} as c (org_id, state, type, shard, delta, p) ` +
      "where c.p in (select p from written) group by org_id, state, type, shard order by org_id, state, type, shard " +
      "on conflict (org_id, state, type, shard) do update set count = user_counts.count + excluded.count)",
  );
  return `with ${ctes.join(", ")} select p from written`;
}

function columnOf(table: PgTable, name: string): PgColumn {
  const column = (getTableColumns(table) as Record<string, PgColumn>)[name];
  if (!column) throw new Error(`no column ${name} in ${getTableName(table)}`);
  return column;
}

/** As Drizzle would send it: a Date as its ISO text, JSON as text; null and undefined as NULL. */
function encoded(column: PgColumn, value: unknown): unknown {
  return value === null || value === undefined ? null : column.mapToDriverValue(value);
}

function quoted(name: string): string {
  return `"${name}"`;
}

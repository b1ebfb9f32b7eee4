/**
 * Reads a test server's database directly, whichever backend it runs on, to check what
 * the API cannot show: the event log, the read model's columns, what is stored at rest.
 */
import Database from "better-sqlite3";
import pg from "pg";
import type { TestServer } from "./server.js";

export interface EventRow {
  sequence: number;
  type: string;
  actor: string;
  resourceOwner: string;
}

export interface UserRowSnapshot {
  id: string;
  state: string;
  sequence: number;
  locked: boolean;
  username: string;
  passwordHash: string | null;
}

/** Runs one read query; `?` placeholders work on both backends. Booleans come back as booleans. */
export async function query<T = Record<string, unknown>>(server: Pick<TestServer, "databaseUrl">, text: string, params: unknown[] = []): Promise<T[]> {
  if (/^postgres(ql)?:/.test(server.databaseUrl)) {
    let n = 0;
    const client = new pg.Client({ connectionString: server.databaseUrl });
    await client.connect();
    try {
      return (await client.query(text.replace(/\?/g, () => `$${++n}`), params)).rows as T[];
    } finally {
      await client.end();
    }
  }
  const db = new Database(server.databaseUrl, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(text).all(...params) as T[];
  } finally {
    db.close();
  }
}

export async function eventsOf(server: Pick<TestServer, "databaseUrl">, userId: string): Promise<EventRow[]> {
  return query<EventRow>(
    server,
    "select sequence, type, actor, resource_owner as \"resourceOwner\" from events where aggregate_id = ? order by sequence",
    [userId],
  );
}

export async function userRow(server: Pick<TestServer, "databaseUrl">, userId: string): Promise<UserRowSnapshot | undefined> {
  const [row] = await query<UserRowSnapshot & { locked: boolean | number }>(
    server,
    "select id, state, sequence, locked, username, password_hash as \"passwordHash\" from users where id = ?",
    [userId],
  );
  return row && { ...row, locked: Boolean(row.locked) };
}

export async function adminUserId(server: Pick<TestServer, "databaseUrl">): Promise<string> {
  const [row] = await query<{ id: string }>(server, "select id from users where username = ?", ["admin"]);
  return row!.id;
}

export async function countRows(server: Pick<TestServer, "databaseUrl">, table: "events" | "users" | "tokens" | "organizations" | "role_grants" | "ssf_keys"): Promise<number> {
  const [row] = await query<{ n: number | string }>(server, `select count(*) as n from ${table}`);
  return Number(row!.n);
}

/** Every value of every row of every table, as text: for checking that secrets are not stored in the clear. */
export async function everythingStored(server: Pick<TestServer, "databaseUrl">): Promise<string> {
  const tables = ["events", "users", "tokens", "organizations", "role_grants"];
  const rows = await Promise.all(tables.map((table) => query(server, `select * from ${table}`)));
  return JSON.stringify(rows);
}

const onPostgres = (server: Pick<TestServer, "databaseUrl">) => /^postgres(ql)?:/.test(server.databaseUrl);

/** `name` or `schema.name` as a quoted SQL identifier. */
function quoteTable(table: string): string {
  return table
    .split(".")
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join(".");
}

/**
 * Every table in the database: on SQLite, all tables of the file; on PostgreSQL, all tables
 * outside the system catalogs (those of the default schema by bare name, others as `schema.name`).
 */
export async function tableNames(server: Pick<TestServer, "databaseUrl">): Promise<string[]> {
  if (onPostgres(server)) {
    const rows = await query<{ schema: string; name: string; current: boolean }>(
      server,
      `select table_schema as "schema", table_name as "name", table_schema = current_schema() as "current"
         from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')
        order by 1, 2`,
    );
    return rows.map((r) => (r.current ? r.name : `${r.schema}.${r.name}`));
  }
  const rows = await query<{ name: string }>(server, "select name from sqlite_master where type = 'table' order by name");
  return rows.map((r) => r.name);
}

/** Every row of one table (a name from tableNames). */
export async function rowsOf(server: Pick<TestServer, "databaseUrl">, table: string): Promise<Record<string, unknown>[]> {
  return query(server, `select * from ${quoteTable(table)}`);
}

/**
 * Every non-null value stored in a table, as text: strings as they are, bytes as latin1,
 * JSON (PostgreSQL jsonb comes back parsed) as JSON text, anything else through String().
 */
export async function storedValues(server: Pick<TestServer, "databaseUrl">, table: string): Promise<string[]> {
  const values: string[] = [];
  for (const row of await rowsOf(server, table)) {
    for (const value of Object.values(row)) {
      if (value === null || value === undefined) continue;
      if (typeof value === "string") values.push(value);
      else if (Buffer.isBuffer(value)) values.push(value.toString("latin1"));
      else if (value instanceof Date) values.push(value.toISOString());
      else if (typeof value === "object") values.push(JSON.stringify(value));
      else values.push(String(value));
    }
  }
  return values;
}

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

export async function countRows(server: Pick<TestServer, "databaseUrl">, table: "events" | "users" | "tokens" | "organizations" | "role_grants"): Promise<number> {
  const [row] = await query<{ n: number | string }>(server, `select count(*) as n from ${table}`);
  return Number(row!.n);
}

/** Every value of every row of every table, as text: for checking that secrets are not stored in the clear. */
export async function everythingStored(server: Pick<TestServer, "databaseUrl">): Promise<string> {
  const tables = ["events", "users", "tokens", "organizations", "role_grants"];
  const rows = await Promise.all(tables.map((table) => query(server, `select * from ${table}`)));
  return JSON.stringify(rows);
}

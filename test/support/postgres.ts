/**
 * Real PostgreSQL for tests: TEST_POSTGRES_URL names a server (CI sets it to the machine's
 * 127.0.0.1:5432, database test). Each test gets a database of its own, dropped afterwards.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";

export const POSTGRES_URL = process.env.TEST_POSTGRES_URL;

/** True when this test run's servers use PostgreSQL instead of a SQLite file. */
export const SERVERS_ON_POSTGRES = process.env.TEST_DATABASE === "postgres";

function withDatabase(url: string, database: string): string {
  const parsed = new URL(url);
  parsed.pathname = `/${database}`;
  return parsed.toString();
}

async function admin<T>(serverUrl: string | undefined, work: (client: pg.Client) => Promise<T>): Promise<T> {
  if (!serverUrl) throw new Error("TEST_POSTGRES_URL is not set");
  const client = new pg.Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** A new database on the PostgreSQL server at `serverUrl` (by default TEST_POSTGRES_URL's). */
export async function createDatabase(serverUrl = POSTGRES_URL): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `zus_test_${randomBytes(6).toString("hex")}`;
  await admin(serverUrl, (client) => client.query(`create database ${name}`));
  return {
    url: withDatabase(serverUrl!, name),
    drop: () => admin(serverUrl, (client) => client.query(`drop database if exists ${name} with (force)`)).then(() => undefined),
  };
}

import type { Logger } from "../observability/logger.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/**
 * Chooses the backend from DATABASE_URL: postgres:// or postgresql:// URLs, else a SQLite file
 * path (or sqlite:PATH). A SQLite store comes with its caches in front (sqlite/cached-store.ts):
 * one process owns the file. PostgreSQL's instances share a database and get none.
 */
export async function openStore(databaseUrl: string, options: { poolSize: number; logger: Logger }): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return openPostgresStore(databaseUrl, {
      poolSize: options.poolSize,
      onIdleError: (err) => options.logger.warn({ error: err.name, code: (err as { code?: string }).code }, "database connection lost"),
    });
  }
  return openSqliteStore(databaseUrl.replace(/^sqlite:/, ""));
}

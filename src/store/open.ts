import type { Logger } from "../observability/logger.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

/** Chooses the backend from DATABASE_URL: postgres:// or postgresql:// URLs, else a SQLite file path (or sqlite:PATH). */
export async function openStore(databaseUrl: string, options: { poolSize: number; logger: Logger }): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return openPostgresStore(databaseUrl, {
      poolSize: options.poolSize,
      onIdleError: (err) => options.logger.warn({ error: err.name, code: (err as { code?: string }).code }, "database connection lost"),
    });
  }
  return openSqliteStore(databaseUrl.replace(/^sqlite:/, ""));
}

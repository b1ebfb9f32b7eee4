import type { Logger } from "../observability/logger.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";
import type { Store } from "./store.js";

export interface OpenOptions {
  poolSize: number;
  logger: Logger;
  /**
   * SQLite: this process runs the jobs that must run once per file: at start it frees the
   * deliveries leased by processes that died, and it checkpoints. The only server process, or
   * the cluster's primary (primary.ts); not its workers, nor the CLI.
   */
  owner: boolean;
}

/**
 * Chooses the backend from DATABASE_URL: postgres:// or postgresql:// URLs, else a SQLite file
 * path (or sqlite:PATH). A SQLite store comes with its caches in front (sqlite/cached-store.ts),
 * which check for commits of other processes on the file. PostgreSQL's instances share a
 * database and get none.
 */
export async function openStore(databaseUrl: string, options: OpenOptions): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    return openPostgresStore(databaseUrl, {
      poolSize: options.poolSize,
      onIdleError: (err) => options.logger.warn({ error: err.name, code: (err as { code?: string }).code }, "database connection lost"),
    });
  }
  return openSqliteStore(databaseUrl.replace(/^sqlite:/, ""), { owner: options.owner });
}

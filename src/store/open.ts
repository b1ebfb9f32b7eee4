import { dirname } from "node:path";
import type { Logger } from "../observability/logger.js";
import { openPostgresStore } from "./postgres/postgres-store.js";
import { isDiskFull } from "./sqlite/disk-full.js";
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

const isPostgres = (databaseUrl: string) => /^postgres(ql)?:\/\//.test(databaseUrl);
const sqlitePath = (databaseUrl: string) => databaseUrl.replace(/^sqlite:/, "");

/**
 * What a start that failed with `err` says: a full disk in words an operator acts on (SQLite's
 * own are "database or disk is full" on a fresh data directory, "disk I/O error" on an existing
 * one, measured on a full tmpfs).
 */
export function startFailureText(databaseUrl: string | undefined, err: unknown): string {
  const onFullDisk =
    (err as { code?: unknown } | undefined)?.code === "ENOSPC" ||
    (databaseUrl !== undefined && !isPostgres(databaseUrl) && isDiskFull(err, dirname(sqlitePath(databaseUrl))));
  if (onFullDisk) return "the disk is full: free space, then start again";
  return err instanceof Error ? err.message : String(err);
}

/**
 * Chooses the backend from DATABASE_URL: postgres:// or postgresql:// URLs, else a SQLite file
 * path (or sqlite:PATH). A SQLite store comes with its caches in front (sqlite/cached-store.ts),
 * which check for commits of other processes on the file. PostgreSQL's instances share a
 * database and get none.
 */
export async function openStore(databaseUrl: string, options: OpenOptions): Promise<Store> {
  if (isPostgres(databaseUrl)) {
    return openPostgresStore(databaseUrl, {
      poolSize: options.poolSize,
      onIdleError: (err) => options.logger.warn({ error: err.name, code: (err as { code?: string }).code }, "database connection lost"),
    });
  }
  return openSqliteStore(sqlitePath(databaseUrl), {
    owner: options.owner,
    // Once per spell, not once per refused call: a full disk refuses every write until it ends.
    diskFull: {
      began: () => options.logger.warn("the database's disk is full: writes are refused until space is freed"),
      ended: () => options.logger.info("the database's disk has room again: writes resume"),
    },
  });
}

import type { Store } from "./store.js";
import { openSqliteStore } from "./sqlite/sqlite-store.js";

/** Chooses the backend from DATABASE_URL: a file path (or sqlite:PATH) means SQLite. */
export function openStore(databaseUrl: string): Store {
  if (/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new Error("PostgreSQL is not supported yet: set DATABASE_URL to a SQLite file path");
  }
  return openSqliteStore(databaseUrl.replace(/^sqlite:/, ""));
}

/** Each Store backend, opened fresh, for the store contract suite. */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import { migrate } from "drizzle-orm/pglite/migrator";
import { MIGRATIONS } from "../../src/store/migrations.js";
import { openPostgresStore, PostgresStore } from "../../src/store/postgres/postgres-store.js";
import * as pgSchema from "../../src/store/postgres/schema.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { createDatabase, POSTGRES_URL } from "./postgres.js";

export interface StoreBackend {
  name: string;
  open(): Promise<{ store: Store; dispose(): Promise<void> }>;
}

const sqlite: StoreBackend = {
  name: "SQLite",
  async open() {
    const store = openSqliteStore(join(mkdtempSync(join(tmpdir(), "zus-store-")), "store.db"));
    return { store, dispose: () => store.close() };
  },
};

/** PostgreSQL's dialect in WebAssembly: needs no server. */
const pglite: StoreBackend = {
  name: "PGlite",
  async open() {
    const client = new PGlite();
    const db = drizzle(client, { schema: pgSchema });
    await migrate(db, { migrationsFolder: MIGRATIONS.postgres });
    const store = new PostgresStore(db, () => client.close(), (statement) => client.query(statement.text, statement.values));
    return { store, dispose: () => store.close() };
  },
};

/** The real server named by TEST_POSTGRES_URL; a database of its own per store. */
const postgres: StoreBackend = {
  name: "PostgreSQL",
  async open() {
    const database = await createDatabase();
    const store = await openPostgresStore(database.url, { poolSize: 5, onIdleError: () => undefined });
    return {
      store,
      async dispose() {
        await store.close();
        await database.drop();
      },
    };
  },
};

/** SQLite and PGlite always; real PostgreSQL when TEST_POSTGRES_URL is set (and then it must answer). */
export const STORE_BACKENDS: StoreBackend[] = POSTGRES_URL ? [sqlite, pglite, postgres] : [sqlite, pglite];


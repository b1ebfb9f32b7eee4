/**
 * A fresh database made ready for a scenario: the server's first start on it (migrations, the
 * organization, the admin and its token), then `users` users seeded in bulk (seed.ts) with the
 * server stopped. The scenario starts the server on it again itself, on the same port.
 */
import { readInstance, seedPostgres, seedSqlite, type Instance } from "./seed.js";
import { freePort, freshDatabase, startServer, type Backend, type Database } from "./server.js";

export interface SeededDatabase {
  db: Database;
  port: number;
  instance: Instance;
  ids: string[];
}

export async function seededDatabase(backend: Backend, users: number, env: NodeJS.ProcessEnv, log: (msg: string) => void, what: string): Promise<SeededDatabase> {
  const db = await freshDatabase(backend);
  try {
    const port = await freePort();
    const first = await startServer(db, port, env);
    const instance = await readInstance(backend, db.url);
    await first.stop();
    log(`${what}: seeding ${users} users (${backend})`);
    const { ids } = backend === "sqlite" ? await seedSqlite(db.url, instance, users) : await seedPostgres(db.url, instance, users);
    return { db, port, instance, ids };
  } catch (err) {
    await db.drop();
    throw err;
  }
}

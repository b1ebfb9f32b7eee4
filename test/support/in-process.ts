/**
 * The real server stack (dispatcher, every protocol, a real port, a real SQLite file) in the
 * test's own process, for tests that must control time: the apps get an injectable clock.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UserApp } from "../../src/app.js";
import { loadConfig } from "../../src/config.js";
import { createDispatcher } from "../../src/http/dispatch.js";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { Readiness } from "../../src/readiness.js";
import { FailureLimiter } from "../../src/security/failure-limiter.js";
import { listen } from "../../src/server.js";
import { SettingsApp } from "../../src/settings.js";
import { SignInApp } from "../../src/sign-in.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { TestClock } from "./given.js";

export { TestClock };

export async function startInProcessServer(clock: TestClock) {
  const databaseUrl = join(mkdtempSync(join(tmpdir(), "zus-inproc-")), "zitadel.db");
  const store = openSqliteStore(databaseUrl);
  const users = new UserApp(store, clock.now);
  const apps = { users, signIn: new SignInApp(store, users.events), settings: new SettingsApp(store, clock.now) };
  const adminToken = (await users.initialize("Default", "admin"))!;
  const shutdown = new AbortController();
  const server = await listen(
    createDispatcher({
      apps,
      readiness: new Readiness(store),
      logger: createLogger("silent"),
      metrics: createMetrics(),
      maxBodyBytes: 1024 * 1024,
      corsOrigins: new Set(),
      shutdownSignal: shutdown.signal,
      attemptLimit: new FailureLimiter(0), // off, as in test/support/server.ts
    }),
    { port: 0, host: "127.0.0.1", limits: loadConfig({}).connectionLimits },
  );
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    adminToken,
    /** The SQLite file, for test/support/db.ts. */
    databaseUrl,
    apps,
    store,
    async stop() {
      shutdown.abort();
      await server.close(1000);
      await store.close();
    },
  };
}

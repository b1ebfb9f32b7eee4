/**
 * A watcher from a position on real PostgreSQL (src/app/watch.ts over postgres-event-log.ts),
 * where transactions commit out of their id order: the hub that starts with the watcher takes
 * PostgreSQL's snapshot as its start, which shows a transaction that committed while an older one
 * still runs; the watcher's backlog reads only below that older one (snapshot-position.ts). The
 * event between the two must still reach the watcher, once.
 */
import pg from "pg";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { EventHub } from "../../src/app/event-hub.js";
import { UserApp } from "../../src/app/user-app.js";
import { startWatch, type WatchReceiver } from "../../src/app/watch.js";
import type { Principal } from "../../src/domain/permissions.js";
import { openPostgresStore } from "../../src/store/postgres/postgres-store.js";
import type { Store } from "../../src/store/store.js";
import { createDatabase, POSTGRES_URL } from "../support/postgres.js";

describe.skipIf(!POSTGRES_URL)("a PostgreSQL watcher from a position", () => {
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let store: Store;
  let hub: EventHub;
  let app: UserApp;
  let admin: Principal;
  let older: pg.Client;
  beforeEach(async () => {
    database = await createDatabase();
    store = await openPostgresStore(database.url, { poolSize: 3, onIdleError: () => undefined });
    hub = new EventHub(store.log, { pollMs: 20, batchSize: 1000, onError: (err) => expect.fail(String(err)) });
    app = new UserApp(store, undefined, { committed: () => hub.wake() });
    const org = await app.addOrganization("watch-pg");
    const { userId } = await app.addMachineUser(org.id, "watch-admin", "ORG_OWNER");
    admin = { userId, orgId: org.id, grants: [{ role: "ORG_OWNER", orgId: org.id }] };
    older = new pg.Client({ connectionString: database.url });
    await older.connect();
  });
  afterEach(async () => {
    hub.close();
    await older.end();
    await store.close();
    await database.drop();
  });

  const addUser = async () =>
    (await app.addHuman({ orgId: admin.orgId, username: `u-${Math.random()}`, profile: { givenName: "A", familyName: "B" }, email: "a@b.c", emailVerified: true, passwordChangeRequired: false }, admin)).userId;

  it("gets an event that committed before the hub started while an older transaction still ran", async () => {
    const userId = await addUser();
    const { position: from } = await store.log.userEvents(userId, undefined, 1);
    // An older transaction takes its id and stays open; a newer one commits past it.
    await older.query("begin");
    await older.query("select pg_current_xact_id()");
    await app.changeState("lock", userId, admin);

    const events: string[] = [];
    const receiver: WatchReceiver = {
      event: (e) => events.push(`${e.event.userId}#${e.event.sequence}`) > 0,
      heartbeat: () => true,
      end: (err) => expect.fail(`the watch ended: ${String(err)}`),
    };
    const options = { bufferSize: 100, heartbeatMs: 60_000, backlogBatch: 500, pollMs: 20, signal: new AbortController().signal };
    // No listener yet: the hub starts here, from PostgreSQL's snapshot as it is now.
    const watch = await startWatch({ hub, log: store.log, isActive: async () => true }, admin, { orgId: admin.orgId, types: new Set() }, from, options, receiver);
    // Its backlog read (below the older transaction) is done long before this.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await older.query("commit");
    await app.changeState("unlock", userId, admin);

    const deadline = Date.now() + 5_000;
    while (events.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(events).toEqual([`${userId}#2`, `${userId}#3`]);
    watch.stop();
  });
});

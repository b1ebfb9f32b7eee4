/**
 * The SQLite store keeps the users it read or committed in memory. What it answers from
 * there must be exactly what a read of the row answers, after every kind of change, and after a
 * commit of another connection on the file (another worker of the cluster, the CLI).
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/better-sqlite3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { UserEvent } from "../src/domain/events.js";
import type { User } from "../src/domain/user.js";
import * as schema from "../src/store/sqlite/schema.js";
import { openSqliteStore } from "../src/store/sqlite/sqlite-store.js";
import type { Store } from "../src/store/store.js";
import { fromUserRow } from "../src/store/user-rows.js";
import { UserEvents } from "../src/app/user-events.js";

describe("SQLite store: users kept in memory", () => {
  let file: string;
  let store: Store;
  let events: UserEvents;
  let outside: Database.Database;
  const ORG = "org-cache";

  /** The user as its row says, read through a connection of the test's own. */
  const rowOf = (id: string): User | undefined => {
    const row = drizzle(outside, { schema }).select().from(schema.users).where(eq(schema.users.id, id)).get();
    return row && fromUserRow(row);
  };

  /**
   * The next task of the event loop: another connection's commit is looked for once a task
   * (cached-store.ts), and a request is always read in a task that starts after the commit it follows.
   */
  const nextTask = () => new Promise<void>((resolve) => setImmediate(resolve));

  beforeAll(async () => {
    file = join(mkdtempSync(join(tmpdir(), "zus-user-cache-")), "store.db");
    store = openSqliteStore(file);
    events = new UserEvents(store, () => new Date());
    await store.addOrganization({ id: ORG, name: "Cache", createdAt: new Date() });
    outside = new Database(file, { readonly: true });
  });
  afterAll(async () => {
    outside.close();
    await store.close();
  });

  /**
   * What another worker does when it changes a user, on a connection of its own: the row and the
   * user's event in one transaction. The caches drop the users whose events others wrote.
   */
  function changeElsewhere(id: string, set: string): void {
    const writer = new Database(file);
    writer.transaction(() => {
      writer.prepare(`update users set ${set}, sequence = sequence + 1 where id = ?`).run(id);
      const { sequence } = writer.prepare("select sequence from users where id = ?").get(id) as { sequence: number };
      writer
        .prepare("insert into events (aggregate_id, sequence, type, payload, actor, resource_owner, created_at) values (?, ?, 'user.locked', null, 'elsewhere', ?, ?)")
        .run(id, sequence, ORG, Date.now());
    })();
    writer.close();
  }

  /** Commits `event` to the user as the store gives it, then compares the store's answer with the row. */
  async function step(id: string, event: UserEvent): Promise<User> {
    const before = await store.getUser(id);
    await events.commit(before, [event], "cache-test", { newUserId: id });
    const answered = await store.getUser(id);
    expect(answered).toEqual(rowOf(id));
    return answered!;
  }

  it("after each kind of change, the store answers what the row says", async () => {
    const human = await step("u-human", {
      type: "user.human.added",
      payload: {
        orgId: ORG,
        username: "Zoë.Cache",
        human: {
          profile: { givenName: "Zoë", familyName: "Cache", nickName: "Z", displayName: "Zoë C.", preferredLanguage: "de", gender: "diverse" },
          email: "zoe@example.com",
          emailVerified: true,
          passwordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
          passwordChangeRequired: true,
        },
      },
    });
    expect(human.human?.profile.nickName).toBe("Z");
    await step("u-human", { type: "user.human.password.check.failed" });
    const policyLocked = await step("u-human", {
      type: "user.locked",
      payload: { cause: "policy", expiresAt: "2031-02-03T04:05:06.789Z" },
    });
    expect(policyLocked.lock).toEqual({ cause: "policy", expiresAt: new Date("2031-02-03T04:05:06.789Z") });
    await step("u-human", { type: "user.unlocked" });
    await step("u-human", { type: "user.human.password.check.succeeded" });
    await step("u-human", { type: "user.locked" });
    await step("u-human", { type: "user.unlocked" });
    await step("u-human", { type: "user.deactivated" });
    await step("u-human", { type: "user.reactivated" });
    const removed = await step("u-human", { type: "user.removed" });
    expect(removed.flags.removed).toBe(true);

    // Without a password (initial), with only the required fields.
    const plain = await step("u-plain", {
      type: "user.human.added",
      payload: {
        orgId: ORG,
        username: "plain",
        human: { profile: { givenName: "P", familyName: "L" }, email: "p@example.com", emailVerified: false, passwordChangeRequired: false },
      },
    });
    expect(plain.flags.initial).toBe(true);
    await step("u-plain", { type: "user.locked" });

    await step("u-machine", { type: "user.machine.added", payload: { orgId: ORG, username: "robot", machine: { name: "Robot", description: "" } } });
    await step("u-machine", { type: "user.locked" });
  });

  it("a row changed by another connection on the file: the next read answers the row, and the next change commits on it", async () => {
    await step("u-behind", { type: "user.machine.added", payload: { orgId: ORG, username: "behind", machine: { name: "B", description: "" } } });
    const cached = (await store.getUser("u-behind"))!;
    changeElsewhere("u-behind", "changed_at = changed_at + 1");
    await nextTask();
    expect((await store.getUser("u-behind"))!.sequence).toBe(cached.sequence + 1);
    expect(await store.getUser("u-behind")).toEqual(rowOf("u-behind"));

    let attempts = 0;
    const locked = await events.retryOnConflict(async () => {
      attempts++;
      const user = await store.getUser("u-behind");
      return (await events.commit(user, [{ type: "user.locked" }], "cache-test")).user;
    });
    expect(attempts).toBe(1);
    expect(locked.sequence).toBe(cached.sequence + 2);
    expect(await store.getUser("u-behind")).toEqual(rowOf("u-behind"));
  });

  it("a token whose user another connection locked: the next lookup gives the locked user", async () => {
    await step("u-token", { type: "user.machine.added", payload: { orgId: ORG, username: "token", machine: { name: "T", description: "" } } });
    const writer = new Database(file);
    writer.prepare("insert into tokens (hash, user_id, created_at) values (?, ?, ?)").run("hash-of-u-token", "u-token", Date.now());
    writer.close();
    expect((await store.findTokenOwner("hash-of-u-token"))?.user.flags.locked).toBe(false);
    changeElsewhere("u-token", "locked = 1");
    await nextTask();
    expect((await store.findTokenOwner("hash-of-u-token"))?.user).toEqual(rowOf("u-token"));
    expect(rowOf("u-token")!.flags.locked).toBe(true);
  });

  it("another connection's commit in the middle of a task is seen from the next task, not before", async () => {
    await step("u-midtask", { type: "user.machine.added", payload: { orgId: ORG, username: "midtask", machine: { name: "M", description: "" } } });
    await nextTask();
    const before = (await store.getUser("u-midtask"))!;
    changeElsewhere("u-midtask", "changed_at = changed_at + 1");
    // Same task: no request can have been read after the commit, so the look of this task stands.
    expect((await store.getUser("u-midtask"))!.sequence).toBe(before.sequence);
    await nextTask();
    expect(await store.getUser("u-midtask")).toEqual(rowOf("u-midtask"));
  });

  it("drops only the users another connection changed, by their events", async () => {
    await step("u-changed", { type: "user.machine.added", payload: { orgId: ORG, username: "changed", machine: { name: "C", description: "" } } });
    await step("u-kept", { type: "user.machine.added", payload: { orgId: ORG, username: "kept", machine: { name: "K", description: "" } } });
    await nextTask();
    const kept = (await store.getUser("u-kept"))!;
    changeElsewhere("u-changed", "changed_at = changed_at + 1");
    // A row changed without its event, which no writer of this project does: the entry stays.
    const writer = new Database(file);
    writer.prepare("update users set sequence = sequence + 1 where id = ?").run("u-kept");
    writer.close();
    await nextTask();
    expect(await store.getUser("u-changed")).toEqual(rowOf("u-changed"));
    expect(await store.getUser("u-kept")).toEqual(kept);
    expect(rowOf("u-kept")!.sequence).toBe(kept.sequence + 1);
  });

  it("drops every entry when more events were written elsewhere than one look reads", async () => {
    await step("u-flood", { type: "user.machine.added", payload: { orgId: ORG, username: "flood", machine: { name: "F", description: "" } } });
    await nextTask();
    const cached = (await store.getUser("u-flood"))!;
    const writer = new Database(file);
    writer.transaction(() => {
      // A row changed without its event: only dropping everything shows it.
      writer.prepare("update users set sequence = sequence + 1 where id = ?").run("u-flood");
      const event = writer.prepare("insert into events (aggregate_id, sequence, type, payload, actor, resource_owner, created_at) values ('u-elsewhere', ?, 'user.locked', null, 'elsewhere', ?, ?)");
      for (let sequence = 1; sequence <= 1_001; sequence++) event.run(sequence, ORG, Date.now());
    })();
    writer.close();
    await nextTask();
    expect((await store.getUser("u-flood"))!.sequence).toBe(cached.sequence + 1);
    expect(await store.getUser("u-flood")).toEqual(rowOf("u-flood"));
  });

  it("an unknown user is not remembered as missing", async () => {
    expect(await store.getUser("u-later")).toBeUndefined();
    await step("u-later", { type: "user.machine.added", payload: { orgId: ORG, username: "later", machine: { name: "L", description: "" } } });
    expect((await store.getUser("u-later"))?.username).toBe("later");
  });
});

/**
 * zus.user.v1.UserRecordService.WatchUserEvents (EXTENSIONS.md §1, Watch) against a real server,
 * over each protocol: events as they commit, from now or from a history page's position, each
 * exactly once while a thousand changes run; heartbeats; only what the caller may read; a
 * locked watcher's stream ends; a watcher that stops reading ends with ResourceExhausted and
 * the position to resume from; SIGTERM ends streams with Unavailable and a position; bad
 * requests are refused naming the field.
 */
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { UserRecordService, WatchEndedSchema, type WatchUserEventsRequestSchema, type WatchUserEventsResponse } from "../gen/zus/user/v1/user_record_service_pb.js";
import { PROTOCOLS, transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const BUFFER = 50;
/** Lock/unlock pairs per user in the slow watcher's test. */
const PAIRS = 60;
let server: TestServer;
let orgId: string;
let owner: { userId: string; token: string };
beforeAll(async () => {
  server = await startServer({ env: { WATCH_HEARTBEAT_MS: "400", WATCH_BUFFER_EVENTS: String(BUFFER) } });
  orgId = await addOrg(server);
  owner = await addMachine(server, orgId, "ORG_OWNER");
});
afterAll(() => server?.stop());

type Records = Client<typeof UserRecordService>;
const records = (protocol: Protocol, token: string, on = server): Records => createClient(UserRecordService, transport(protocol, on.baseUrl, token));

/** An open watch: what it has received so far, and how it ended (if it has). */
class Watcher {
  readonly messages: WatchUserEventsResponse[] = [];
  ended?: ConnectError | "ok";
  private lastAt?: number;
  private readonly abort = new AbortController();
  private readonly done: Promise<void>;
  private waiters: (() => void)[] = [];

  constructor(client: Records, request: MessageInitShape<typeof WatchUserEventsRequestSchema>) {
    this.done = (async () => {
      try {
        for await (const message of client.watchUserEvents(request, { signal: this.abort.signal })) {
          this.messages.push(message);
          this.lastAt = Date.now();
          this.notify();
        }
        this.ended = "ok";
      } catch (err) {
        this.ended = ConnectError.from(err);
      }
      this.notify();
    })();
  }

  get events() {
    return this.messages.flatMap((m) => (m.kind.case === "event" ? [m.kind.value] : []));
  }

  get position(): string {
    return this.messages[this.messages.length - 1]?.position ?? "";
  }

  /** Waits until `test` holds (checked on every message and at the end). */
  async until(test: (w: Watcher) => boolean, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!test(this)) {
      if (Date.now() > deadline) throw new Error(`watch condition not met in ${timeoutMs} ms (${this.describe()})`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  /** What came and when the last message did, for a failure's message: a stalled stream or missing events. */
  private describe(): string {
    const events = this.events.length;
    const last = this.lastAt === undefined ? "never" : `${Date.now() - this.lastAt} ms ago`;
    return `${events} events, ${this.messages.length - events} heartbeats, the last ${last}, ended: ${this.ended}`;
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }

  private notify() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/** The stream has answered (a heartbeat), so it is subscribed. */
const open = (w: Watcher) => w.messages.length > 0 || w.ended !== undefined;

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("streams a user's events as they commit, in order, each with a position, and heartbeats while idle", async () => {
    const users = userClient(protocol, server.baseUrl, owner.token);
    const userId = await addHuman(users, { orgId });
    const watcher = new Watcher(records(protocol, owner.token), { userId });
    await watcher.until(open);
    expect(watcher.messages[0]!.kind.case).toBe("heartbeat");

    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await watcher.until((w) => w.events.length === 2);
    expect(watcher.events.map((e) => [e.type, e.sequence, e.actorId, e.resourceOwner])).toEqual([
      ["user.locked", 2n, owner.userId, orgId],
      ["user.unlocked", 3n, owner.userId, orgId],
    ]);
    const positions = watcher.messages.map((m) => m.position);
    expect(positions.every((p) => /^[A-Za-z0-9_-]+$/.test(p))).toBe(true);
    expect(new Set(positions.slice(-2)).size).toBe(2);

    const heartbeats = watcher.messages.length;
    await watcher.until((w) => w.messages.length > heartbeats);
    expect(watcher.messages[watcher.messages.length - 1]!.kind.case).toBe("heartbeat");
    await watcher.close();
  });

  it("filters by event type and organization", async () => {
    const users = userClient(protocol, server.baseUrl, owner.token);
    const userId = await addHuman(users, { orgId });
    const watcher = new Watcher(records(protocol, owner.token), { organizationId: orgId, types: ["user.unlocked", "user.deactivated"] });
    await watcher.until(open);
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await users.deactivateUser({ userId });
    await watcher.until((w) => w.events.filter((e) => e.userId === userId).length === 2);
    expect(watcher.events.filter((e) => e.userId === userId).map((e) => e.type)).toEqual(["user.unlocked", "user.deactivated"]);
    expect(watcher.events.every((e) => e.type !== "user.locked")).toBe(true);
    await watcher.close();
  });

  it("shows a stranger none of another organization's events", async () => {
    const strangerOrg = await addOrg(server);
    const stranger = await addMachine(server, strangerOrg, "ORG_OWNER");
    const watcher = new Watcher(records(protocol, stranger.token), {});
    await watcher.until(open);
    const users = userClient(protocol, server.baseUrl, owner.token);
    const theirs = await addHuman(users, { orgId });
    await users.lockUser({ userId: theirs });
    // An event the stranger may read, committed after the others: once it arrives, they would have too.
    const own = await addHuman(userClient(protocol, server.baseUrl, stranger.token), { orgId: strangerOrg });
    await watcher.until((w) => w.events.some((e) => e.userId === own));
    expect(watcher.events.map((e) => e.resourceOwner)).toEqual(watcher.events.map(() => strangerOrg));
    await watcher.close();
  });

  it("ends the stream of a watcher that is locked", async () => {
    const watcherUser = await addMachine(server, orgId, "ORG_USER_MANAGER");
    const watcher = new Watcher(records(protocol, watcherUser.token), {});
    await watcher.until(open);
    await userClient(protocol, server.baseUrl, owner.token).lockUser({ userId: watcherUser.userId });
    await watcher.until((w) => w.ended !== undefined, 5_000);
    expect(watcher.ended).toBeInstanceOf(ConnectError);
    expect((watcher.ended as ConnectError).code).toBe(Code.Unauthenticated);
  });

  it("refuses unknown event types, a malformed position and filters the caller may not read, naming the field", async () => {
    const client = records(protocol, owner.token);
    const strangerOrg = await addOrg(server);
    const strangerUser = await addHuman(userClient(protocol, server.baseUrl, (await addMachine(server, strangerOrg, "ORG_OWNER")).token), { orgId: strangerOrg });
    const cases: [MessageInitShape<typeof WatchUserEventsRequestSchema>, string][] = [
      [{ types: ["user.locked", "user.exploded"] }, 'invalid WatchUserEventsRequest.Types: unknown event type "user.exploded"'],
      [{ position: "not a position" }, "invalid WatchUserEventsRequest.Position: not a position this server gave"],
      [{ position: Buffer.from("12:x").toString("base64url") }, "invalid WatchUserEventsRequest.Position: not a position this server gave"],
      [{ organizationId: strangerOrg }, "invalid WatchUserEventsRequest.OrganizationId: not an organization whose users you may read"],
      [{ userId: strangerUser }, "invalid WatchUserEventsRequest.UserId: not a user you may read"],
    ];
    for (const [request, message] of cases) {
      const watcher = new Watcher(client, request);
      await watcher.until((w) => w.ended !== undefined);
      expect(watcher.ended).toBeInstanceOf(ConnectError);
      expect((watcher.ended as ConnectError).code).toBe(Code.InvalidArgument);
      expect((watcher.ended as ConnectError).rawMessage).toBe(message);
      expect(watcher.messages).toEqual([]);
    }
  });
});

describe("from a history page's position", () => {
  // 1,000 changes on PostgreSQL take ~20 s alone and more beside other test files: the default 30 s is too close.
  it("delivers every later event of the organization exactly once while a thousand locks and unlocks run", { timeout: 90_000 }, async () => {
    const org = await addOrg(server);
    const admin = await addMachine(server, org, "ORG_OWNER");
    const users = userClient("grpc", server.baseUrl, admin.token);
    const ids = await Promise.all(Array.from({ length: 20 }, () => addHuman(users, { orgId: org })));
    const history = await records("connect-json", admin.token).listUserEvents({ userId: ids[0]! });
    expect(history.position).not.toBe("");

    // 50 lock/unlock pairs per user, ten users at a time: 1,000 changes.
    let done = 0;
    const changes = Promise.all(
      ids.map(async (userId) => {
        for (let i = 0; i < 25; i++) {
          await users.lockUser({ userId });
          await users.unlockUser({ userId });
          done += 2;
        }
      }),
    );
    // Started mid-way: part of what it must deliver is backlog, part live.
    while (done < 300) await new Promise((resolve) => setTimeout(resolve, 5));
    const watcher = new Watcher(records("grpc", admin.token), { organizationId: org, position: history.position });
    await changes;
    const expected = ids.length * 50;
    await watcher.until((w) => w.events.length >= expected, 20_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(watcher.events).toHaveLength(expected);
    for (const userId of ids) {
      const sequences = watcher.events.filter((e) => e.userId === userId).map((e) => Number(e.sequence));
      // Sequence 1 (the user's creation) came before the history page; 2..51 after it, in order.
      expect(sequences).toEqual(Array.from({ length: 50 }, (_, i) => i + 2));
    }
    await watcher.close();
  });
});

describe("one event, many watchers", () => {
  it("reaches each of them whole over every protocol and format; a type filter still holds", async () => {
    const users = userClient("grpc", server.baseUrl, owner.token);
    const userId = await addHuman(users, { orgId });
    // An event's frame is made once per format (src/rpc/watch-user-events.ts): JSON's, made
    // first here, must not reach the binary watchers of the same protocol, nor theirs the JSON ones.
    const kinds = ["connect-json", "connect-binary", "grpc", "grpc-web", "connect-json", "connect-binary"] as const;
    const watchers = kinds.map((kind) => new Watcher(createClient(UserRecordService, transport(kind, server.baseUrl, owner.token)), { organizationId: orgId }));
    const unlocksOnly = new Watcher(records("grpc", owner.token), { organizationId: orgId, types: ["user.unlocked"] });
    for (const watcher of [...watchers, unlocksOnly]) await watcher.until(open);

    await records("grpc", owner.token).lockUser({ userId, reason: "one event, many watchers" });
    await users.unlockUser({ userId });
    for (const watcher of [...watchers, unlocksOnly]) await watcher.until((w) => w.events.some((e) => e.userId === userId && e.type === "user.unlocked"));
    for (const watcher of watchers) {
      const own = watcher.events.filter((e) => e.userId === userId);
      expect(own.map((e) => [e.type, e.sequence, e.actorId, e.resourceOwner, e.lock?.reason])).toEqual([
        ["user.locked", 2n, owner.userId, orgId, "one event, many watchers"],
        ["user.unlocked", 3n, owner.userId, orgId, undefined],
      ]);
      expect(watcher.position).toMatch(/^[A-Za-z0-9_-]+$/);
    }
    expect(unlocksOnly.events.filter((e) => e.userId === userId).map((e) => e.type)).toEqual(["user.unlocked"]);
    for (const watcher of [...watchers, unlocksOnly]) await watcher.close();
  });
});

describe("a watcher that stops reading", () => {
  it("ends with ResourceExhausted and the position after the last event it got; resuming there misses and repeats nothing", { timeout: 90_000 }, async () => {
    const org = await addOrg(server);
    const admin = await addMachine(server, org, "ORG_OWNER");
    const users = userClient("grpc", server.baseUrl, admin.token);
    const ids = await Promise.all(Array.from({ length: 10 }, () => addHuman(users, { orgId: org })));
    const client = records("grpc", admin.token);
    const stream = client.watchUserEvents({ organizationId: org })[Symbol.asyncIterator]();
    const first = await stream.next();
    expect(first.value?.kind.case).toBe("heartbeat");
    const rssBefore = await serverRssMiB();

    // Far more than the buffer and the transport's windows hold, while the client reads nothing.
    await lockBurst(client, ids);
    const rssAfter = await serverRssMiB();
    const received: WatchUserEventsResponse[] = [];
    let ended: ConnectError | undefined;
    try {
      for (let next = await stream.next(); !next.done; next = await stream.next()) received.push(next.value);
    } catch (err) {
      ended = ConnectError.from(err);
    }
    expect(ended?.code).toBe(Code.ResourceExhausted);
    const [detail] = ended!.findDetails(WatchEndedSchema);
    const events = received.flatMap((m) => (m.kind.case === "event" ? [m.kind.value] : []));
    expect(events.length).toBeLessThan(ids.length * PAIRS * 2);
    expect(detail?.position).toBe(received[received.length - 1]?.position ?? first.value!.position);
    expect(rssAfter - rssBefore).toBeLessThan(64);

    const resumed = new Watcher(client, { organizationId: org, position: detail!.position });
    await resumed.until((w) => events.length + w.events.length >= ids.length * PAIRS * 2, 30_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const all = [...events, ...resumed.events];
    expect(all).toHaveLength(ids.length * PAIRS * 2);
    expectEachUsersBurst(all, ids);
    await resumed.close();
  });
});

describe("a watcher whose socket is slow", () => {
  it("gets, once it reads, every event that waited for it, in order, and then the live tail", { timeout: 90_000 }, async () => {
    // A buffer larger than the burst: what the transport does not take waits in the server.
    const own = await startServer({ env: { WATCH_HEARTBEAT_MS: "400", WATCH_BUFFER_EVENTS: "5000" } });
    try {
      const org = await addOrg(own);
      const admin = await addMachine(own, org, "ORG_OWNER");
      const users = userClient("grpc", own.baseUrl, admin.token);
      const ids = await Promise.all(Array.from({ length: 10 }, () => addHuman(users, { orgId: org })));
      const client = records("grpc", admin.token, own);
      const stream = client.watchUserEvents({ organizationId: org })[Symbol.asyncIterator]();
      expect((await stream.next()).value?.kind.case).toBe("heartbeat");

      // ~1,200 messages of ~600 bytes, while the client reads nothing: far more than HTTP/2's
      // window (64 KiB) and the stream's buffer hold, so the server holds back most of them.
      await lockBurst(client, ids);
      const events: { userId: string; sequence: bigint }[] = [];
      while (events.length < ids.length * PAIRS * 2) {
        const next = await stream.next();
        if (next.done) throw new Error("the watch ended");
        if (next.value.kind.case === "event") events.push(next.value.kind.value);
      }
      expectEachUsersBurst(events, ids);
      // Caught up: a new event comes at once.
      await client.lockUser({ userId: ids[0]! });
      let next = await stream.next();
      while (next.value?.kind.case === "heartbeat") next = await stream.next();
      expect(next.value?.kind.case === "event" && [next.value.kind.value.userId, next.value.kind.value.sequence]).toEqual([ids[0], BigInt(PAIRS * 2 + 2)]);
      await stream.return?.();
    } finally {
      await own.stop();
    }
  });
});

describe("SIGTERM", () => {
  it("ends open streams with Unavailable and the position to resume from", async () => {
    const own = await startServer({ env: { WATCH_HEARTBEAT_MS: "400" } });
    try {
      const watchers = PROTOCOLS.map((protocol) => new Watcher(records(protocol, own.adminToken, own), {}));
      for (const watcher of watchers) await watcher.until(open);
      expect(await own.stop("SIGTERM")).toBe(0);
      for (const watcher of watchers) {
        await watcher.until((w) => w.ended !== undefined);
        const ended = watcher.ended as ConnectError;
        expect(ended.code).toBe(Code.Unavailable);
        // The last message's position, or a later one when the log moved on past events this
        // watcher does not get (on PostgreSQL other transactions move the horizon too).
        expect(ended.findDetails(WatchEndedSchema)[0]?.position).toMatch(/^[A-Za-z0-9_-]+$/);
      }
    } finally {
      await own.stop();
    }
  });
});

/**
 * PAIRS locks with the longest reason and unlocks of each user, each a bulk call for all of them
 * (a tenth of the calls single ones take): large messages, so that fewer calls fill a non-reading
 * watcher's transport windows.
 */
async function lockBurst(client: Records, ids: string[]): Promise<void> {
  const reason = "r".repeat(500);
  const outcomes = [];
  for (let i = 0; i < PAIRS; i++) {
    outcomes.push(...(await client.bulkLockUsers({ userIds: ids, reason })).results, ...(await client.bulkUnlockUsers({ userIds: ids })).results);
  }
  expect(outcomes.filter((result) => result.outcome.case !== "details")).toEqual([]);
}

/** Every user's burst arrived whole and in order: sequences 2 (after the user's creation) to PAIRS × 2 + 1. */
function expectEachUsersBurst(events: { userId: string; sequence: bigint }[], ids: string[]): void {
  for (const userId of ids) {
    expect(events.filter((e) => e.userId === userId).map((e) => Number(e.sequence))).toEqual(Array.from({ length: PAIRS * 2 }, (_, i) => i + 2));
  }
}

/** The server process's resident memory, from /proc. */
async function serverRssMiB(): Promise<number> {
  const { readFile } = await import("node:fs/promises");
  const status = await readFile(`/proc/${server.pid()}/status`, "utf8");
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}

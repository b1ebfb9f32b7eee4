/**
 * The durable outbox and its dispatcher (EXTENSIONS.md §2) on every backend, sending ZITADEL
 * Actions v2 payloads to real HTTP receivers on 127.0.0.1 that check each request's
 * ZITADEL-Signature against the raw body: deliveries written with their event and only then,
 * sent in each user's commit order, retried with the same event after failures, parked when the
 * receiver keeps failing and sent again when an administrator retries them, a slow receiver
 * holding up only its own queue, and a lease that runs out giving the delivery to another sender.
 */
import { createHmac } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { actionsSender } from "../src/app/actions-sender.js";
import { LocalCourier } from "../src/app/courier.js";
import { parseOutboundAllow } from "../src/security/outbound-urls.js";
import { Dispatcher, type DispatcherOptions, type Sender } from "../src/app/dispatcher.js";
import { UserApp } from "../src/app/user-app.js";
import { DomainError } from "../src/domain/errors.js";
import type { Principal } from "../src/domain/permissions.js";
import type { Store } from "../src/store/store.js";
import { sleep, until } from "./support/wait.js";
import { STORE_BACKENDS } from "./support/stores.js";

const KEY = "test-signing-key";

interface Received {
  body: Record<string, unknown>;
  signatureValid: boolean;
}

/** A receiver that checks every request's signature and answers what `answer` says. */
class Receiver {
  readonly received: Received[] = [];
  answer: (req: IncomingMessage) => number | "hang" = () => 200;
  /** Requests left hanging, until `release` answers them. */
  private readonly hanging: ServerResponse[] = [];
  private server?: Server;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (chunk: Buffer) => chunks.push(chunk));
      req.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const [t, v1] = String(req.headers["zitadel-signature"]).split(",").map((part) => part.split("=")[1]);
        const expected = createHmac("sha256", KEY).update(`${t}.${raw}`).digest("hex");
        const status = this.answer(req);
        if (status === "hang") return void this.hanging.push(res);
        if (status >= 200 && status < 300) this.received.push({ body: JSON.parse(raw), signatureValid: v1 === expected });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as { port: number }).port}/hook`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  /** Answers the `count` oldest requests left hanging (all of them by default). */
  release(status: number, count = this.hanging.length): void {
    for (const res of this.hanging.splice(0, count)) res.writeHead(status).end();
  }

  /** Requests left hanging now. */
  get waiting(): number {
    return this.hanging.length;
  }

  sequencesOf(userId: string): number[] {
    return this.received.filter((r) => r.body.aggregateID === userId).map((r) => r.body.sequence as number);
  }
}

const options = (overrides: Partial<DispatcherOptions> = {}): DispatcherOptions => ({
  concurrency: 16,
  perDestination: 4,
  pollMs: 20,
  baseBackoffMs: 20,
  maxBackoffMs: 100,
  giveUpAfterMs: 60_000,
  onError: (err) => {
    throw err;
  },
  ...overrides,
});


describe.each(STORE_BACKENDS)("the outbox on $name", (backend) => {
  let store: Store;
  let dispose: () => Promise<void>;
  let admin: Principal;
  const receivers = { a: new Receiver(), b: new Receiver() };
  /** Which destinations each event type goes to, as Actions executions would say. */
  let routes: Record<string, string[]> = {};
  let app: UserApp;
  const senders: Record<string, Sender> = {};

  beforeAll(async () => {
    ({ store, dispose } = await backend.open());
    await receivers.a.start();
    await receivers.b.start();
    const sending = { instanceId: "instance-1", outbound: parseOutboundAllow("http://127.0.0.1"), courier: new LocalCourier() };
    senders.a = actionsSender({ endpoint: receivers.a.url, signingKey: KEY, timeoutMs: 2000 }, sending);
    senders.b = actionsSender({ endpoint: receivers.b.url, signingKey: KEY, timeoutMs: 2000 }, sending);
    app = new UserApp(store, undefined, { routes: { destinationsFor: (type) => routes[type] ?? [] } });
    const org = await app.addOrganization("outbox");
    const { userId } = await app.addMachineUser(org.id, "outbox-admin", "ORG_OWNER");
    admin = { userId, orgId: org.id, grants: [{ role: "ORG_OWNER", orgId: org.id }] };
  });
  afterAll(async () => {
    await receivers.a.stop();
    await receivers.b.stop();
    await dispose?.();
  });

  const addUser = async () =>
    (
      await app.addHuman(
        { orgId: admin.orgId, username: `u-${Math.random()}`, profile: { givenName: "A", familyName: "B" }, email: "a@b.c", emailVerified: true, passwordChangeRequired: false },
        admin,
      )
    ).userId;
  const dispatcher = (overrides: Partial<DispatcherOptions> = {}) =>
    new Dispatcher(store.outbox, async (destination) => senders[destination], options(overrides));

  it("writes a delivery with each routed event's commit, and none for a dry run or a refused change", async () => {
    routes = { "user.locked": ["a"], "user.unlocked": ["a", "b"] };
    const userId = await addUser();
    await app.changeState("lock", userId, admin);
    await app.changeState("unlock", userId, admin, { dryRun: true });
    await expect(app.changeState("lock", userId, admin)).rejects.toThrow("User is not active or initial");
    await app.changeState("unlock", userId, admin);
    expect((await store.outbox.outboxStats()).pending).toBe(3);

    const sender = dispatcher();
    sender.start();
    await until(async () => (await store.outbox.outboxStats()).pending === 0);
    await sender.stop(5_000);
    const got = receivers.a.received.filter((r) => r.body.aggregateID === userId);
    expect(got.map((r) => [r.body.event_type, r.body.sequence, r.signatureValid])).toEqual([
      ["user.locked", 2, true],
      ["user.unlocked", 3, true],
    ]);
    expect(got[0]!.body).toMatchObject({ aggregateType: "user", resourceOwner: admin.orgId, instanceID: "instance-1", userID: admin.userId, version: "v2" });
    expect(new Date(got[0]!.body.created_at as string).getTime()).toBeGreaterThan(Date.now() - 60_000);
    expect(receivers.b.sequencesOf(userId)).toEqual([3]);
  });

  it("sends each user's deliveries in commit order while many users' run at once", async () => {
    routes = { "user.locked": ["a"], "user.unlocked": ["a"] };
    const ids = await Promise.all(Array.from({ length: 8 }, addUser));
    await Promise.all(ids.map(async (id) => {
      for (let i = 0; i < 5; i++) {
        await app.changeState("lock", id, admin);
        await app.changeState("unlock", id, admin);
      }
    }));
    // The receiver answers slowly and out of turn: order must come from the dispatcher.
    receivers.a.answer = () => 200;
    const sender = dispatcher();
    sender.start();
    await until(async () => (await store.outbox.outboxStats()).pending === 0);
    await sender.stop(5_000);
    // At least once: a send that timed out may arrive twice, but only right after itself.
    for (const id of ids) expect(receivers.a.sequencesOf(id).filter((s, i, all) => s !== all[i - 1])).toEqual([2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it("retries a failed delivery with the same event, then parks one that keeps failing; an administrator's retry sends it", async () => {
    routes = { "user.locked": ["a"] };
    const flaky = await addUser();
    let failures = 0;
    receivers.a.answer = () => (failures++ < 2 ? 503 : 200);
    await app.changeState("lock", flaky, admin);
    let sender = dispatcher();
    sender.start();
    await until(() => receivers.a.sequencesOf(flaky).length === 1);
    await sender.stop(5_000);
    expect(failures).toBe(3);

    const doomed = await addUser();
    let refusals = 0;
    receivers.a.answer = () => (refusals++, 500);
    await app.changeState("lock", doomed, admin);
    // The dispatcher's clock jumps past giving up only after two refusals (a real one gave up
    // after the first when a loaded machine sent it late).
    let skewMs = 0;
    sender = dispatcher({ giveUpAfterMs: 60_000, now: () => new Date(Date.now() + skewMs) });
    sender.start();
    await until(() => refusals >= 2);
    expect(await store.outbox.outboxStats()).toMatchObject({ parked: 0 });
    skewMs = 60_000;
    await until(async () => (await store.outbox.outboxStats()).parked === 1);
    await sender.stop(5_000);
    const [parked] = await store.outbox.parkedDeliveries(10);
    expect(parked).toMatchObject({ destination: "a", userId: doomed, sequence: 2, lastError: "the target answered 500" });
    expect(parked!.attempts).toBeGreaterThan(1);

    receivers.a.answer = () => 200;
    expect(await store.outbox.retryParked([parked!.id], new Date())).toBe(1);
    sender = dispatcher();
    sender.start();
    await until(() => receivers.a.sequencesOf(doomed).length === 1);
    await sender.stop(5_000);
    expect(await store.outbox.outboxStats()).toMatchObject({ pending: 0, parked: 0 });
  });

  it("lets a receiver that hangs hold up only its own queue", async () => {
    routes = { "user.locked": ["a", "b"] };
    receivers.a.answer = () => "hang";
    senders.a = actionsSender({ endpoint: receivers.a.url, signingKey: KEY, timeoutMs: 300 }, { instanceId: "instance-1", outbound: parseOutboundAllow("http://127.0.0.1"), courier: new LocalCourier() });
    const ids = await Promise.all(Array.from({ length: 6 }, addUser));
    for (const id of ids) await app.changeState("lock", id, admin);
    const sender = dispatcher({ giveUpAfterMs: 60_000, baseBackoffMs: 10_000 });
    sender.start();
    await until(() => ids.every((id) => receivers.b.sequencesOf(id).length === 1), 3_000);
    await sender.stop(5_000);
    receivers.a.answer = () => 200;
  });

  it("refills a busy destination once half its room is free, not one delivery at a time", async () => {
    routes = { "user.locked": ["a"] };
    receivers.a.release(200); // what an earlier test left hanging
    receivers.a.answer = () => "hang";
    // Long enough that no request times out (and is sent again) while the test holds it.
    senders.a = actionsSender({ endpoint: receivers.a.url, signingKey: KEY, timeoutMs: 30_000 }, { instanceId: "instance-1", outbound: parseOutboundAllow("http://127.0.0.1"), courier: new LocalCourier() });
    const ids = await Promise.all(Array.from({ length: 8 }, addUser));
    for (const id of ids) await app.changeState("lock", id, admin);
    const sender = dispatcher({ perDestination: 4 });
    sender.start();
    await until(() => receivers.a.waiting === 4);
    // One of four answered: a quarter of the room is free, less than half; nothing more is sent.
    receivers.a.release(200, 1);
    await sleep(300);
    expect(receivers.a.waiting).toBe(3);
    // A second one: half the room is free, and it is filled at once.
    receivers.a.release(200, 1);
    await until(() => receivers.a.waiting === 4);
    receivers.a.answer = () => 200;
    receivers.a.release(200);
    await until(async () => (await store.outbox.outboxStats()).pending === 0, 10_000);
    await sender.stop(5_000);
  });

  it("gives a delivery whose lease ran out (its sender died) to the next sender", async () => {
    routes = { "user.locked": ["b"] };
    const userId = await addUser();
    await app.changeState("lock", userId, admin);
    const now = new Date();
    const [leased] = await store.outbox.leaseDue(now, new Date(now.getTime() + 100), { limit: 10, perDestination: 10, rooms: new Map([["a", 0]]) });
    expect(leased?.event).toMatchObject({ userId, sequence: 2, type: "user.locked" });
    // Leased: nobody else takes it.
    expect(await store.outbox.leaseDue(new Date(now.getTime() + 50), new Date(now.getTime() + 150), { limit: 10, perDestination: 10, rooms: new Map([["a", 0]]) })).toEqual([]);
    const again = await store.outbox.leaseDue(new Date(now.getTime() + 101), new Date(now.getTime() + 200), { limit: 10, perDestination: 10, rooms: new Map([["a", 0]]) });
    expect(again.map((d) => d.id)).toEqual([leased!.id]);
    await store.outbox.delivered([leased!.id]);
  });

  it("renews the lease of a send under way, so no other sender takes it, and stops renewing when the sender stops", async () => {
    routes = { "user.locked": ["b"] };
    const userId = await addUser();
    await app.changeState("lock", userId, admin);
    let hanging = 0;
    receivers.b.answer = () => (hanging++, "hang");
    // A send that takes far longer than a lease: it ends only when the test releases it.
    const kept = senders.b!;
    senders.b = actionsSender({ endpoint: receivers.b.url, signingKey: KEY, timeoutMs: 30_000 }, { instanceId: "instance-1", outbound: parseOutboundAllow("http://127.0.0.1"), courier: new LocalCourier() });
    const leaseMs = 400;
    const sender = dispatcher({ leaseMs });
    sender.start();
    await until(() => hanging === 1);

    // Another instance, looking over several lease times while the send hangs, finds nothing to take.
    const otherInstance = () => store.outbox.leaseDue(new Date(), new Date(Date.now() + 60_000), { limit: 10, perDestination: 10, rooms: new Map([["a", 0]]) });
    const lookUntil = Date.now() + 4 * leaseMs;
    while (Date.now() < lookUntil) {
      expect(await otherInstance()).toEqual([]);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }

    // Stopped with no grace (as good as dead to the others): the hanging send's lease runs out and the other instance takes it.
    await sender.stop(0);
    let taken: Awaited<ReturnType<typeof otherInstance>> = [];
    await until(async () => (taken = await otherInstance()).length > 0);
    expect(taken.map((d) => d.event)).toMatchObject([{ userId, sequence: 2, type: "user.locked" }]);
    await store.outbox.delivered([taken[0]!.id]);
    receivers.b.answer = () => 200;
    receivers.b.release(503);
    await sender.stop(5_000);
    senders.b = kept;
  });

  it("writes a sent delivery's outcome once the database is back, without resending it or waiting for its lease", async () => {
    routes = { "user.locked": ["a"], "user.unlocked": ["a"] };
    receivers.a.answer = () => 200;
    const userId = await addUser();
    await app.changeState("lock", userId, admin);
    await app.changeState("unlock", userId, admin);
    // The database goes away for the first writes of the outcome (and the sender's read): they answer Unavailable.
    let refusals = 0;
    const unavailable = () => Promise.reject(new DomainError("Unavailable", undefined, "The database is unavailable; try again"));
    const outbox = Object.assign(Object.create(store.outbox) as Store["outbox"], {
      delivered: (ids: readonly number[]) => (refusals++ < 3 ? unavailable() : store.outbox.delivered(ids)),
    });
    let senderReads = 0;
    const senderFor = async (destination: string) => (senderReads++ < 2 ? unavailable() : senders[destination]);
    // A lease far longer than the test: only the dispatcher's own retries can explain the second delivery.
    const sender = new Dispatcher(outbox, senderFor, options({ leaseMs: 600_000 }));
    sender.start();
    await until(() => receivers.a.sequencesOf(userId).length === 2, 5_000);
    await until(async () => (await store.outbox.outboxStats()).pending === 0, 5_000);
    await sender.stop(5_000);
    expect(receivers.a.sequencesOf(userId)).toEqual([2, 3]);
    expect(refusals).toBeGreaterThan(3);
  });
});

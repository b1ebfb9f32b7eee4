/**
 * Several server instances on one real PostgreSQL database, and a database outage with recovery.
 *
 * Runs only with TEST_POSTGRES_URL set (CI sets it). When it is set, an unreachable PostgreSQL
 * fails the suite (createDatabase() in beforeAll throws), it does not skip it.
 */
import { existsSync, readdirSync, symlinkSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema } from "../gen/zitadel/message_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient, type Protocol, type UserClient } from "./support/clients.js";
import { countRows, eventsOf, query, userRow } from "./support/db.js";
import { addHuman } from "./support/fixtures.js";
import { createDatabase, POSTGRES_URL } from "./support/postgres.js";
import { newDataDir, startServer, type TestServer } from "./support/server.js";

type Database = Awaited<ReturnType<typeof createDatabase>>;

/** The outcome of one call: its gRPC/Connect code name (or "OK"), and how long it took. */
interface Outcome {
  what: string;
  code: string;
  ms: number;
  detail?: string;
}

async function outcome(what: string, call: () => Promise<unknown>): Promise<Outcome> {
  const started = Date.now();
  try {
    await call();
    return { what, code: "OK", ms: Date.now() - started };
  } catch (err) {
    const ms = Date.now() - started;
    if (err instanceof ConnectError) return { what, code: Code[err.code], ms, detail: err.rawMessage };
    return { what, code: "NOT_A_CONNECT_ERROR", ms, detail: String(err) };
  }
}

/** REST answers mapped onto the same vocabulary: 503 is Unavailable, 2xx is OK. */
async function restOutcome(server: TestServer, method: string, path: string, body?: string): Promise<Outcome> {
  const started = Date.now();
  try {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${server.adminToken}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body,
      signal: AbortSignal.timeout(8000),
    });
    const text = await res.text();
    const code = res.ok ? "OK" : res.status === 503 ? "Unavailable" : `HTTP_${res.status}`;
    return { what: `REST ${method} ${path}`, code, ms: Date.now() - started, detail: text };
  } catch (err) {
    return { what: `REST ${method} ${path}`, code: "FETCH_FAILED", ms: Date.now() - started, detail: String(err) };
  }
}

async function readyz(server: TestServer): Promise<number> {
  const res = await fetch(`${server.baseUrl}/readyz`, { signal: AbortSignal.timeout(8000) });
  await res.text();
  return res.status;
}

async function healthz(server: TestServer): Promise<number> {
  const res = await fetch(`${server.baseUrl}/healthz`, { signal: AbortSignal.timeout(8000) });
  await res.text();
  return res.status;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; returns how long it took, or throws with the last value after `limitMs`. */
async function eventually<T>(limitMs: number, probe: () => Promise<T>, check: (value: T) => boolean): Promise<number> {
  const started = Date.now();
  let last: T | undefined;
  while (Date.now() - started < limitMs) {
    last = await probe().catch((e: unknown) => e as T);
    if (check(last)) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`not within ${limitMs} ms; last: ${JSON.stringify(last)}`);
}

const CALL = { timeoutMs: 8000 };

describe.skipIf(!POSTGRES_URL)("several instances on one PostgreSQL database", () => {
  let database: Database;
  /** For the direct reads of test/support/db.ts (never through the proxy). */
  const db = { get databaseUrl() { return database.url; } };
  let tokenDir: string;
  let a: TestServer;
  let b: TestServer;

  beforeAll(async () => {
    database = await createDatabase();
    // startServer() reads the admin token from <dataDir>/admin.pat once the server listens, but
    // only the instance that wins first-start initialization writes a token file (the other finds
    // the database already set up and writes nothing). So both instances get their own data dir
    // and the SAME ADMIN_TOKEN_FILE in a third directory, and each data dir's admin.pat is a
    // symlink to that shared path: the winner creates it (flag "wx"), both harnesses read it.
    // Were both to initialize, the second write would fail with EEXIST and that server would not
    // start; the assertions below also count admins, organizations and tokens in the database.
    // (The winner writes the file right after its transaction commits, while the loser still
    // needs further round trips and its listen() before the harness reads the file.)
    tokenDir = newDataDir();
    const sharedTokenFile = join(tokenDir, "admin.pat");
    const dirs = [newDataDir(), newDataDir()];
    for (const dir of dirs) symlinkSync(sharedTokenFile, join(dir, "admin.pat"));
    const env = { DATABASE_URL: database.url, ADMIN_TOKEN_FILE: sharedTokenFile };
    const [first, second] = await Promise.all(dirs.map((dataDir) => startServer({ dataDir, env })));
    a = first!;
    b = second!;
  });

  afterAll(async () => {
    const codes = await Promise.all([a?.stop(), b?.stop()]);
    await database?.drop();
    // Both exited on SIGTERM with 0: neither crashed during the tests.
    if (a && b) expect(codes).toEqual([0, 0]);
  });

  it("two instances started together on a fresh database both start; exactly one ran first-start initialization", async () => {
    expect(await healthz(a)).toBe(200);
    expect(await healthz(b)).toBe(200);
    expect(await readyz(a)).toBe(200);
    expect(await readyz(b)).toBe(200);

    // Migrations ran once: each migration recorded once in drizzle's journal.
    const migrations = await query<{ hash: string }>(db, "select hash from drizzle.__drizzle_migrations");
    expect(new Set(migrations.map((m) => m.hash)).size).toBe(migrations.length);
    expect(migrations.length).toBeGreaterThan(0);

    // One first organization, one admin, one token, one grant.
    const admins = await query<{ id: string }>(db, "select id from users where username = ?", ["admin"]);
    expect(admins).toHaveLength(1);
    expect(await countRows(db, "organizations")).toBe(1);
    expect(await countRows(db, "users")).toBe(1);
    expect(await countRows(db, "tokens")).toBe(1);
    expect(await countRows(db, "role_grants")).toBe(1);
    expect(await countRows(db, "ssf_keys")).toBe(1);
    expect(await eventsOf(db, admins[0]!.id)).toHaveLength(1);

    // Only one token file exists and exactly one instance logged the first start.
    expect(readdirSync(tokenDir)).toEqual(["admin.pat"]);
    // (The signing key is made once too, possibly by the other instance: a log line of its own.)
    const firstStarts = [a, b].filter((s) => s.output().includes("first start: created the first organization"));
    expect(firstStarts).toHaveLength(1);
    expect([a, b].filter((s) => s.output().includes("signing key"))).toHaveLength(1);
    expect(a.adminToken).toBe(b.adminToken);
    expect(a.adminToken).toMatch(/\S{16,}/);

    // The one token works on both instances.
    for (const server of [a, b]) {
      const me = await userClient("connect-json", server.baseUrl, server.adminToken).getUserByID({ userId: admins[0]!.id });
      expect(me.user!.userId).toBe(admins[0]!.id);
    }
  });

  it("100 concurrent LockUser calls split over both instances and protocols: one success, 99 FailedPrecondition, one user.locked event", async () => {
    const userId = await addHuman(userClient("connect-json", a.baseUrl, a.adminToken));
    const protocols: Protocol[] = ["grpc", "connect-json"];
    const clients = [a, b].flatMap((server) => protocols.map((p) => ({ server, client: userClient(p, server.baseUrl, server.adminToken) })));
    // 100 calls: 50 per instance, 25 per protocol per instance, interleaved.
    const results = await Promise.allSettled(Array.from({ length: 100 }, (_, i) => clients[i % 4]!.client.lockUser({ userId }, CALL)));

    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    const lost = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(99);
    expect(won[0]!.details!.sequence).toBe(2n);
    for (const err of lost) {
      expect(err).toBeInstanceOf(ConnectError);
      const connectErr = err as ConnectError;
      expect(Code[connectErr.code]).toBe(Code[Code.FailedPrecondition]);
      expect(connectErr.rawMessage).toBe("User is not active or initial (COMMAND-lgws8wtsqf)");
      expect(connectErr.findDetails(ErrorDetailSchema)[0]?.id).toBe("COMMAND-lgws8wtsqf");
    }

    const events = await eventsOf(db, userId);
    expect(events.map((e) => e.sequence)).toEqual([1, 2]);
    expect(events.map((e) => e.type)).toEqual(["user.human.added", "user.locked"]);
    expect(await query(db, "select 1 from events where aggregate_id = ? and type = 'user.locked'", [userId])).toHaveLength(1);
    const row = await userRow(db, userId);
    expect(row).toMatchObject({ state: "locked", sequence: 2, locked: true });
    for (const server of [a, b]) {
      const read = await userClient("grpc", server.baseUrl, server.adminToken).getUserByID({ userId });
      expect(read.user!.state).toBe(UserState.LOCKED);
      expect(read.details!.sequence).toBe(2n);
    }
  });

  it("a change made on one instance is visible on the other right away", async () => {
    const onA = userClient("grpc", a.baseUrl, a.adminToken);
    const onB = userClient("connect-json", b.baseUrl, b.adminToken);
    const userId = await addHuman(onA);
    // Created on A, read on B.
    expect((await onB.getUserByID({ userId })).user!.state).toBe(UserState.ACTIVE);

    const locked = await onA.lockUser({ userId });
    const readB = await onB.getUserByID({ userId });
    expect(readB.user!.state).toBe(UserState.LOCKED);
    expect(readB.details!.sequence).toBe(locked.details!.sequence);

    const unlocked = await onB.unlockUser({ userId });
    const readA = await onA.getUserByID({ userId });
    expect(readA.user!.state).toBe(UserState.ACTIVE);
    expect(readA.details!.sequence).toBe(unlocked.details!.sequence);

    // And A sees B's unlock when it decides: locking again works on A.
    await onA.lockUser({ userId });
    expect((await onB.getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
    expect((await eventsOf(db, userId)).map((e) => e.type)).toEqual(["user.human.added", "user.locked", "user.unlocked", "user.locked"]);
  });

  it("a watcher on one instance receives a lock made on the other within a second", async () => {
    const userId = await addHuman(userClient("grpc", a.baseUrl, a.adminToken));
    const abort = new AbortController();
    const records = createClient(UserRecordService, transport("grpc", a.baseUrl, a.adminToken));
    // From the position of the user's history: a lock made before the watch is subscribed is not missed.
    const { position } = await records.listUserEvents({ userId });
    const stream = records.watchUserEvents({ userId, position }, { signal: abort.signal });
    const received = (async () => {
      for await (const message of stream) if (message.kind.case === "event") return { event: message.kind.value, at: Date.now() };
      throw new Error("the watch ended without an event");
    })();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const locked = await userClient("connect-json", b.baseUrl, b.adminToken).lockUser({ userId });
    const acknowledged = Date.now();
    const { event, at } = await received;
    abort.abort();
    expect([event.type, event.userId, event.sequence]).toEqual(["user.locked", userId, locked.details!.sequence]);
    expect(at - acknowledged).toBeLessThan(1000);
  });
});

/**
 * A TCP proxy in front of PostgreSQL that can simulate a database restart: drop every
 * connection and refuse new ones (the listening socket is closed), then accept again on the same port.
 */
class PostgresProxy {
  private listener?: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  connections = 0;

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  async accept(): Promise<void> {
    const listener = createServer((downstream) => {
      this.connections++;
      const upstream = connect(this.upstreamPort, this.upstreamHost);
      for (const socket of [downstream, upstream]) {
        this.sockets.add(socket);
        socket.on("error", () => undefined);
        socket.on("close", () => {
          this.sockets.delete(socket);
          downstream.destroy();
          upstream.destroy();
        });
      }
      downstream.pipe(upstream);
      upstream.pipe(downstream);
    });
    await new Promise<void>((resolve, reject) => {
      listener.once("error", reject);
      listener.listen(this.port, "127.0.0.1", () => resolve());
    });
    this.port = (listener.address() as { port: number }).port;
    this.listener = listener;
  }

  /** Drops every connection (with a reset, like a killed database) and refuses new ones. */
  async refuse(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    const closed = listener ? new Promise<void>((resolve) => listener.close(() => resolve())) : Promise.resolve();
    for (const socket of this.sockets) socket.resetAndDestroy();
    await closed;
  }

  async close(): Promise<void> {
    await this.refuse();
  }
}

describe.skipIf(!POSTGRES_URL)("PostgreSQL outage and recovery without a server restart", () => {
  let database: Database;
  /** For the direct reads of test/support/db.ts (never through the proxy). */
  const db = { get databaseUrl() { return database.url; } };
  let proxy: PostgresProxy;
  let server: TestServer;

  beforeAll(async () => {
    database = await createDatabase();
    const upstream = new URL(POSTGRES_URL!);
    proxy = new PostgresProxy(upstream.hostname, Number(upstream.port || 5432));
    await proxy.accept();
    const viaProxy = new URL(database.url);
    viaProxy.hostname = "127.0.0.1";
    viaProxy.port = String(proxy.port);
    server = await startServer({ env: { DATABASE_URL: viaProxy.toString(), DATABASE_POOL_SIZE: "4" } });
  });

  afterAll(async () => {
    const code = await server?.stop();
    await proxy?.close();
    await database?.drop();
    if (server) expect(code, `server output:\n${server.output()}`).toBe(0);
  });

  it("calls answer Unavailable and /readyz 503 during the outage; both recover on their own; acknowledged changes survive", { timeout: 60_000 }, async () => {
    const grpc = userClient("grpc", server.baseUrl, server.adminToken);
    const json = userClient("connect-json", server.baseUrl, server.adminToken);

    // Before: changes acknowledged through the proxy.
    const created: string[] = [];
    for (const client of [grpc, json, grpc, json]) created.push(await addHuman(client));
    await grpc.lockUser({ userId: created[0]! });
    await json.deactivateUser({ userId: created[1]! });
    expect(await readyz(server)).toBe(200);
    expect(proxy.connections).toBeGreaterThan(0);

    // Calls in flight when the database goes away: each either succeeds or answers Unavailable.
    const inFlightIds: (string | undefined)[] = [];
    const inFlight = Array.from({ length: 12 }, (_, i) =>
      outcome(`in-flight AddHumanUser #${i}`, async () => {
        inFlightIds[i] = await addHuman(i % 2 === 0 ? grpc : json);
      }),
    );
    await sleep(25);
    const outageStarted = Date.now();
    await proxy.refuse();

    // During the outage (~3 s): every kind of call, round after round.
    const during: Outcome[] = [];
    const readyDuring: number[] = [];
    const healthDuring: number[] = [];
    while (Date.now() - outageStarted < 3000) {
      const round = await Promise.all([
        outcome("grpc GetUserByID", () => grpc.getUserByID({ userId: created[2]! }, CALL)),
        outcome("connect-json GetUserByID", () => json.getUserByID({ userId: created[2]! }, CALL)),
        outcome("grpc LockUser", () => grpc.lockUser({ userId: created[3]! }, CALL)),
        outcome("connect-json LockUser", () => json.lockUser({ userId: created[3]! }, CALL)),
        outcome("connect-json ListUsers", () => json.listUsers({}, CALL)),
        restOutcome(server, "GET", `/v2/users/${created[2]}`),
        restOutcome(server, "POST", `/v2/users/${created[3]}/lock`, "{}"),
      ]);
      during.push(...round);
      readyDuring.push(await readyz(server));
      healthDuring.push(await healthz(server));
      await sleep(250);
    }
    const inFlightOutcomes = await Promise.all(inFlight);

    expect(during.length).toBeGreaterThanOrEqual(7);
    const wrong = during.filter((o) => o.code !== "Unavailable" || o.ms > 4000);
    expect(wrong, "calls during the outage must answer Unavailable (REST 503) within 4 s").toEqual([]);
    // The Connect error carries the store's message, not an internal one.
    expect(during.find((o) => o.what === "grpc GetUserByID")?.detail).toMatch(/database is unavailable/);
    expect(readyDuring.every((s) => s === 503), `readyz during the outage: ${readyDuring}`).toBe(true);
    // The process is up the whole time.
    expect(healthDuring.every((s) => s === 200)).toBe(true);
    const wrongInFlight = inFlightOutcomes.filter((o) => o.code !== "OK" && o.code !== "Unavailable");
    expect(wrongInFlight, "calls in flight at the outage: success or Unavailable").toEqual([]);

    // The database comes back on the same address; the server is not restarted.
    await proxy.accept();
    const recovered = Date.now();
    const readyAfter = await eventually(5000, () => readyz(server), (s) => s === 200);
    const callsAfter = await eventually(
      5000,
      () => grpc.getUserByID({ userId: created[2]! }, CALL),
      (r) => !(r instanceof Error) && (r as { user?: unknown }).user !== undefined,
    );
    expect(Math.max(readyAfter, callsAfter, Date.now() - recovered)).toBeLessThan(6000);

    // Every pooled connection works again: a burst larger than the pool, on every protocol.
    const burst = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        i % 3 === 0
          ? restOutcome(server, "GET", `/v2/users/${created[i % 4]}`)
          : outcome("GetUserByID after recovery", () => (i % 3 === 1 ? grpc : json).getUserByID({ userId: created[i % 4]! }, CALL)),
      ),
    );
    expect(burst.filter((o) => o.code !== "OK")).toEqual([]);
    const lockAfter = await outcome("LockUser after recovery", () => json.lockUser({ userId: created[3]! }, CALL));
    expect(lockAfter.code).toBe("OK");
    expect(await readyz(server)).toBe(200);

    // Everything acknowledged before the outage is still there (read directly, not via the proxy).
    const expectState = async (userId: string, api: UserState, stored: string) => {
      expect((await grpc.getUserByID({ userId })).user!.state).toBe(api);
      expect((await userRow(db, userId))?.state).toBe(stored);
    };
    await expectState(created[0]!, UserState.LOCKED, "locked");
    await expectState(created[1]!, UserState.INACTIVE, "inactive");
    await expectState(created[2]!, UserState.ACTIVE, "active");
    await expectState(created[3]!, UserState.LOCKED, "locked");
    expect((await eventsOf(db, created[3]!)).map((e) => e.type)).toEqual(["user.human.added", "user.locked"]);
    // In-flight calls that were acknowledged are stored too.
    for (const userId of inFlightIds.filter((id): id is string => id !== undefined)) {
      expect((await userRow(db, userId))?.state).toBe("active");
    }

    // The server was never restarted: one start, one "listening", no fatal log line.
    expect(server.output().match(/"msg":"listening"/g)).toHaveLength(1);
    expect(server.output()).not.toMatch(/"level":60/);
  });
});

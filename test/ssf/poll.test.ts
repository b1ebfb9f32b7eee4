/**
 * The poll endpoint (RFC 8936) over real HTTP, on a server made in this process with the
 * dispatcher main.ts makes, and an in-memory PollQueue in place of the delivery side's: how
 * maxEvents, returnImmediately, ack and setErrs reach the queue, the long poll, and the errors.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { JSONWebKeySet } from "jose";
import { ActionsApp } from "../../src/app/actions.js";
import { DeliveryAdmin } from "../../src/app/delivery-admin.js";
import { EventHub } from "../../src/app/event-hub.js";
import { Readiness } from "../../src/app/readiness.js";
import { SettingsApp } from "../../src/app/settings.js";
import { SignInApp } from "../../src/app/sign-in.js";
import type { PollQueue, SetError } from "../../src/app/ssf/poll-queue.js";
import { LocalCourier } from "../../src/app/courier.js";
import { verificationSet } from "../../src/app/ssf/sets.js";
import { SigningKeys } from "../../src/app/ssf/signing-keys.js";
import { SsfStreams } from "../../src/app/ssf/streams.js";
import { UserApp } from "../../src/app/user-app.js";
import { Watching } from "../../src/app/watch.js";
import { loadConfig } from "../../src/config.js";
import { createDispatcher } from "../../src/edge/dispatch.js";
import { listen, type RunningServer } from "../../src/edge/server.js";
import { createLogger } from "../../src/observability/logger.js";
import { createMetrics } from "../../src/observability/metrics.js";
import { FailureLimiter } from "../../src/security/failure-limiter.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import type { Store } from "../../src/store/store.js";
import { checkSet } from "../support/set-checks.js";
import { POLL, PUSH, ssfCall } from "../support/ssf-http.js";

const LONG_POLL_MS = 400;

/** Each stream's SETs until acknowledged or refused, as the delivery side keeps them; and what reached it. */
class MemoryQueue implements PollQueue {
  readonly pending = new Map<string, { jti: string; set: string }[]>();
  readonly acked: string[] = [];
  readonly refused = new Map<string, SetError>();
  readonly takes: { max: number; waitMs: number }[] = [];
  aborted = 0;
  private wake: (() => void)[] = [];

  add(streamId: string, jti: string, set: string): void {
    this.pending.set(streamId, [...(this.pending.get(streamId) ?? []), { jti, set }]);
    for (const wake of this.wake.splice(0)) wake();
  }

  private drop(streamId: string, jtis: Iterable<string>): void {
    const gone = new Set(jtis);
    this.pending.set(streamId, (this.pending.get(streamId) ?? []).filter((s) => !gone.has(s.jti)));
  }

  async ack(streamId: string, jtis: readonly string[]): Promise<void> {
    this.acked.push(...jtis);
    this.drop(streamId, jtis);
  }

  async error(streamId: string, errors: ReadonlyMap<string, SetError>): Promise<void> {
    for (const [jti, error] of errors) this.refused.set(jti, error);
    this.drop(streamId, errors.keys());
  }

  async take(streamId: string, max: number, waitMs: number, signal: AbortSignal) {
    this.takes.push({ max, waitMs });
    if (!this.pending.get(streamId)?.length && waitMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, waitMs);
        const done = () => {
          clearTimeout(timer);
          resolve();
        };
        this.wake.push(done);
        signal.addEventListener("abort", () => {
          this.aborted++;
          done();
        });
      });
    }
    const sets = this.pending.get(streamId) ?? [];
    return { sets: sets.slice(0, max), moreAvailable: sets.length > max };
  }
}

const ISSUER = "https://transmitter.example.com";
let store: Store;
let server: RunningServer;
let baseUrl: string;
let queue: MemoryQueue;
let keys: SigningKeys;
let users: UserApp;
let orgId: string;
const shutdown = new AbortController();

beforeAll(async () => {
  store = openSqliteStore(join(mkdtempSync(join(tmpdir(), "zus-poll-")), "db"));
  users = new UserApp(store);
  orgId = (await users.addOrganization("Receivers")).id;
  keys = new SigningKeys(store.ssf);
  await keys.ensure();
  queue = new MemoryQueue();
  const config = loadConfig({});
  const hub = new EventHub(store.log, { pollMs: 1000, batchSize: 100, onError: () => undefined });
  const handler = createDispatcher({
    apps: {
      users,
      signIn: new SignInApp(store, users.events),
      settings: new SettingsApp(store),
      watching: new Watching(hub, store, config.watch),
      actions: new ActionsApp(store.actions, config.outbound),
      delivery: new DeliveryAdmin(store.outbox, store.actions, store.ssf),
    },
    readiness: new Readiness(store),
    logger: createLogger("silent"),
    metrics: createMetrics(),
    maxBodyBytes: config.maxBodyBytes,
    corsOrigins: new Set(),
    shutdownSignal: shutdown.signal,
    attemptLimit: new FailureLimiter(0),
    ssf: {
      streams: new SsfStreams(store.ssf, { issuer: ISSUER, defaultSubjects: "ALL", minVerificationIntervalS: 10 }, config.outbound),
      keys,
      pollQueue: queue,
      longPollMs: LONG_POLL_MS,
    },
  });
  server = await listen(handler, { port: 0, host: "127.0.0.1", limits: config.connectionLimits });
  baseUrl = `http://127.0.0.1:${server.port}`;
});

afterAll(async () => {
  shutdown.abort();
  await server?.close(1000);
  await store?.close();
});

const call = (method: string, path: string, options?: Parameters<typeof ssfCall>[3]) => ssfCall({ baseUrl }, method, path, options);

/** A receiver with a poll stream of its own. */
async function pollStream(): Promise<{ token: string; streamId: string; path: string }> {
  const { token } = await users.addMachineUser(orgId, `receiver-${Math.random()}`, "SSF_RECEIVER");
  const created = await call("POST", "/ssf/streams", { token, body: {} });
  expect(created.json.delivery.method).toBe(POLL);
  const path = new URL(created.json.delivery.endpoint_url).pathname;
  return { token, streamId: created.json.stream_id, path };
}

describe("polling", () => {
  it("returnImmediately: what is waiting, up to maxEvents, offered again until acknowledged", async () => {
    const { token, streamId, path } = await pollStream();
    expect((await call("POST", path, { token, body: { returnImmediately: true } })).json).toEqual({ sets: {}, moreAvailable: false });
    for (const jti of ["a", "b", "c"]) queue.add(streamId, jti, `set-${jti}`);
    const first = await call("POST", path, { token, body: { maxEvents: 2, returnImmediately: true } });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-type")).toBe("application/json");
    expect(first.json).toEqual({ sets: { a: "set-a", b: "set-b" }, moreAvailable: true });
    // Acknowledging and asking for more in one request: the acknowledged are not offered again.
    const second = await call("POST", path, { token, body: { ack: ["a", "b"], returnImmediately: true } });
    expect(second.json).toEqual({ sets: { c: "set-c" }, moreAvailable: false });
    expect(queue.acked).toEqual(expect.arrayContaining(["a", "b"]));
  });

  it("setErrs reach the queue with each SET's err and description, and those SETs are not offered again", async () => {
    const { token, streamId, path } = await pollStream();
    queue.add(streamId, "bad", "set-bad");
    queue.add(streamId, "worse", "set-worse");
    const answer = await call("POST", path, {
      token,
      body: { returnImmediately: true, setErrs: { bad: { err: "invalid_key", description: "unknown kid" }, worse: { err: "invalid_audience" } } },
    });
    expect(answer.json).toEqual({ sets: {}, moreAvailable: false });
    expect(queue.refused.get("bad")).toEqual({ err: "invalid_key", description: "unknown kid" });
    expect(queue.refused.get("worse")).toEqual({ err: "invalid_audience" });
  });

  it("maxEvents 0 only acknowledges, without waiting; more than 100 are asked for as 100", async () => {
    const { token, streamId, path } = await pollStream();
    queue.add(streamId, "x", "set-x");
    const ackOnly = await call("POST", path, { token, body: { maxEvents: 0, ack: ["x"] } });
    expect(ackOnly.json).toEqual({ sets: {}, moreAvailable: false });
    expect(queue.takes.at(-1)).toEqual({ max: 0, waitMs: 0 });
    await call("POST", path, { token, body: { maxEvents: 5000, returnImmediately: true } });
    expect(queue.takes.at(-1)).toEqual({ max: 100, waitMs: 0 });
  });

  it("a long poll (no returnImmediately) answers as soon as a SET arrives", async () => {
    const { token, streamId, path } = await pollStream();
    const started = Date.now();
    const answer = call("POST", path, { token, body: {} });
    setTimeout(() => queue.add(streamId, "late", "set-late"), 150);
    expect((await answer).json).toEqual({ sets: { late: "set-late" }, moreAvailable: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(queue.takes.at(-1)).toEqual({ max: 100, waitMs: LONG_POLL_MS });
  });

  it("a long poll with nothing to send answers empty after the long poll time; an empty body is a long poll too", async () => {
    const { token, path } = await pollStream();
    const started = Date.now();
    const answer = await call("POST", path, { token, raw: "" });
    expect(answer.json).toEqual({ sets: {}, moreAvailable: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(LONG_POLL_MS - 20);
  });

  it("a long poll whose receiver goes away stops waiting", async () => {
    const { token, path } = await pollStream();
    const before = queue.aborted;
    const gone = new AbortController();
    const request = fetch(`${baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${token}` }, body: "{}", signal: gone.signal });
    await new Promise((resolve) => setTimeout(resolve, 100));
    gone.abort();
    await expect(request).rejects.toThrow();
    await expect.poll(() => queue.aborted).toBe(before + 1);
  });

  it("a signed SET comes through as it went in, and verifies against the transmitter's JWKS", async () => {
    const { token, streamId, path } = await pollStream();
    const signed = await verificationSet({ id: 1, state: "st" }, { id: streamId, aud: "receiver" }, { key: await keys.current(), courier: new LocalCourier() }, ISSUER, new Date());
    queue.add(streamId, signed.jti, signed.set);
    const answer = await call("POST", path, { token, body: { returnImmediately: true } });
    const jwks = (await call("GET", "/ssf/jwks")).json as JSONWebKeySet;
    const set = await checkSet(answer.json.sets[signed.jti], jwks, { issuer: ISSUER, audience: "receiver" });
    expect(set.event).toEqual({ state: "st" });
  });
});

describe("poll errors", () => {
  it("bad members: 400 naming them", async () => {
    const { token, path } = await pollStream();
    const cases: [unknown, string][] = [
      [{ maxEvents: -1 }, "invalid poll request: maxEvents must be a whole number, 0 or more"],
      [{ maxEvents: 1.5 }, "invalid poll request: maxEvents must be a whole number, 0 or more"],
      [{ returnImmediately: "yes" }, "invalid poll request: returnImmediately must be true or false"],
      [{ ack: "a" }, "invalid poll request: ack must be an array of strings"],
      [{ setErrs: [] }, "invalid poll request: setErrs must be a JSON object"],
      [{ setErrs: { a: "invalid_key" } }, "invalid poll request: setErrs.a must be a JSON object"],
      [{ setErrs: { a: {} } }, "invalid poll request: setErrs.a.err is required"],
    ];
    for (const [body, description] of cases) {
      const answer = await call("POST", path, { token, body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json).toEqual({ err: "invalid_request", description });
    }
    expect((await call("POST", path, { token, raw: "{ broken" })).status).toBe(400);
  });

  it("no token 401; a read-only token 403; another receiver's, an unknown or a push stream 404; GET 405", async () => {
    const { path } = await pollStream();
    expect((await call("POST", path, { body: {} })).status).toBe(401);
    const { token: reader } = await users.addMachineUser(orgId, `reader-${Math.random()}`, "SSF_READER");
    expect((await call("POST", path, { token: reader, body: {} })).status).toBe(403);
    const { token: other } = await pollStream();
    expect((await call("POST", path, { token: other, body: {} })).status).toBe(404);
    expect((await call("POST", "/ssf/poll/999999999999999999", { token: other, body: {} })).status).toBe(404);
    expect((await call("POST", "/ssf/poll/%E0%A4%A", { token: other, body: {} })).status).toBe(404);
    const { token: pusher } = await users.addMachineUser(orgId, `pusher-${Math.random()}`, "SSF_RECEIVER");
    const push = await call("POST", "/ssf/streams", { token: pusher, body: { delivery: { method: PUSH, endpoint_url: "https://r.example/events" } } });
    expect((await call("POST", `/ssf/poll/${push.json.stream_id}`, { token: pusher, body: {} })).status).toBe(404);
    const get = await call("GET", path, { token: other });
    expect(get.status).toBe(405);
    expect(get.headers.get("allow")).toBe("POST");
  });
});

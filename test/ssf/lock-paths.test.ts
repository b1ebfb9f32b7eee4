/**
 * Every lock path reaches every receiver (issue 22; EXTENSIONS.md §3–§4, docs/events.md "What is
 * sent for what"): one real server with three receivers attached, an SSF push stream (RFC 8935),
 * an SSF poll stream (RFC 8936) and an Actions v2 rest_async target with executions for every
 * user event type the paths record. For each path (ZITADEL's LockUser and UnlockUser, the lockout
 * policy at the Nth wrong password, bulk lock and unlock with a reason, our lock with a reason and
 * an end and that end, deactivate, reactivate, delete, a session ended by a lock, a human added
 * with a password) exactly the SETs §4 lists arrive on both streams, each verified as a receiver
 * verifies it (the conformance plan's per-SET checks), and exactly the user's events arrive as
 * Actions v2 payloads whose ZITADEL-Signature matches the raw body.
 */
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import { decodeJwt } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { ActionsReceiver, attachTarget, type ActionsCall } from "../support/actions-receiver.js";
import { sessionClient, transport, userClient, type SessionClient, type UserClient } from "../support/clients.js";
import { adminUserId } from "../support/db.js";
import { addHuman, addMachine, addOrg, cli, expectCode, expectZitadelError } from "../support/fixtures.js";
import { PASSWORD } from "../support/given.js";
import { startServer, type TestServer } from "../support/server.js";
import type { CheckedSet } from "../support/set-checks.js";
import { checkAll, pollUntil, PushReceiver } from "../support/set-receiver.js";
import { CAEP, EVENTS_SUPPORTED, POLL, PUSH, RISC, ssfCall } from "../support/ssf-http.js";

const DISABLED = `${RISC}account-disabled`;
const ENABLED = `${RISC}account-enabled`;
const PURGED = `${RISC}account-purged`;
const REVOKED = `${CAEP}session-revoked`;
const CREDENTIAL = `${CAEP}credential-change`;
/**
 * The event types the paths below record; each gets an execution naming the target, one after
 * the other. user.human.added comes last: the server reads the executions again each second, so
 * a probe user's added event that reaches the target proves that every execution set before it
 * is routed (set first, a refresh between two executions let the probe pass with the later ones
 * not yet routed, and a test's events within that second went nowhere).
 */
const EVENT_TYPES = [
  "user.locked",
  "user.unlocked",
  "user.deactivated",
  "user.reactivated",
  "user.removed",
  "user.human.password.check.failed",
  "user.human.password.check.succeeded",
  "user.human.added",
];
/** The lockout policy of `strictOrg`: the third wrong password in a row locks. */
const MAX_PASSWORD_ATTEMPTS = 3;

let server: TestServer;
let issuer: string;
let adminId: string;
let users: UserClient;
let records: Client<typeof UserRecordService>;
let sessions: SessionClient;
let strictOrg: string;
let push: PushReceiver;
let actions: ActionsReceiver;
let pushStream: { id: string; aud: string };
let pollStream: { id: string; aud: string; token: string };
/** Every SET taken from the poll stream so far, checked, once each (a SET offered again keeps its jti). */
const polled = new Map<string, CheckedSet>();
/** What each user's path was shown to have received, to see at the end that nothing came after. */
const settled = new Map<string, { sets: number; actions: number }>();

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const subOf = (set: string) => (decodeJwt(set).sub_id as { sub?: string }).sub;

async function createStream(receiver: { token: string }, delivery?: Record<string, unknown>): Promise<string> {
  const created = await ssfCall(server, "POST", "/ssf/streams", { token: receiver.token, body: { delivery, events_requested: EVENTS_SUPPORTED } });
  expect(created.status, created.text).toBe(201);
  expect(created.json.events_delivered).toEqual(EVENTS_SUPPORTED);
  return created.json.stream_id as string;
}

/** Takes what the poll stream has now, acknowledging it, as its receiver would. */
async function drainPoll(): Promise<void> {
  const taken = await pollUntil(server, pollStream.id, pollStream.token, 0);
  for (const set of await checkAll(server, taken, pollStream.aud)) polled.set(set.claims.jti, set);
}

interface Arrived {
  push: CheckedSet[];
  poll: CheckedSet[];
  actions: ActionsCall[];
}

/** What reached each receiver for the user, once at least the given numbers did (or `timeoutMs` passed). */
async function arrivedFor(userId: string, sets: number, actionCalls: number, timeoutMs = 10_000): Promise<Arrived> {
  const pushedRaw = () => push.received.filter((r) => subOf(r.set) === userId);
  const polledOf = () => [...polled.values()].filter((set) => set.claims.sub_id.sub === userId);
  const calledOf = () => actions.received.filter((call) => call.body.aggregateID === userId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await drainPoll();
    const enough = pushedRaw().length >= sets && polledOf().length >= sets && calledOf().length >= actionCalls;
    if (enough || Date.now() > deadline) break;
    await sleep(50);
  }
  return { push: await checkAll(server, pushedRaw().map((r) => r.set), pushStream.aud), poll: polledOf(), actions: calledOf() };
}

/** One SET as expected: its type, the sequence of its cause's first event (its txn), its event's members but for event_timestamp. */
type ExpectedSet = [type: string, causeSequence: number, members: Record<string, unknown>];
/** One Actions v2 call as expected: the event's type, sequence and actor. */
type ExpectedCall = [eventType: string, sequence: number, actor: string];

const byAdmin = (reason?: string) => ({ initiating_entity: "admin", ...(reason === undefined ? {} : { reason_admin: { en: reason } }) });
/** What adding a human with a password sends (its sequence is 1). */
const ADDED_SET: ExpectedSet = [CREDENTIAL, 1, { credential_type: "password", change_type: "create", ...byAdmin("password set when the account was created") }];
const added = (): ExpectedCall => ["user.human.added", 1, adminId];

/**
 * Waits for the user's SETs and calls, then asserts that exactly these arrived, in this order,
 * on push and on poll alike (same txn and event, their own jti) and as signed Actions v2
 * payloads; each SET's event_timestamp is the time its cause was recorded.
 */
async function expectArrivals(userId: string, sets: ExpectedSet[], calls: ExpectedCall[]): Promise<Arrived> {
  const arrived = await arrivedFor(userId, sets.length, calls.length);
  const expectedSets = sets.map(([type, cause, members]) => [type, `${userId}:${cause}`, { event_timestamp: expect.any(Number), ...members }]);
  for (const [method, got] of [
    ["push", arrived.push],
    ["poll", arrived.poll],
  ] as const) {
    expect(got.map((set) => [set.type, set.claims.txn, set.event]), method).toEqual(expectedSets);
    for (const set of got) expect(set.claims.sub_id, method).toEqual({ format: "iss_sub", iss: issuer, sub: userId });
  }
  arrived.push.forEach((set, i) => expect(set.claims.jti).not.toBe(arrived.poll[i]!.claims.jti));

  expect(arrived.actions.map(({ body, signatureValid }) => [body.event_type, body.sequence, body.userID, signatureValid])).toEqual(
    calls.map((call) => [...call, true]),
  );
  for (const { body } of arrived.actions) expect(body).toMatchObject({ aggregateID: userId, aggregateType: "user", version: "v2" });
  const recordedAt = new Map(arrived.actions.map(({ body }) => [body.sequence, Math.floor(Date.parse(body.created_at as string) / 1000)]));
  for (const set of arrived.push) expect(set.event.event_timestamp).toBe(recordedAt.get(Number(set.claims.txn.split(":")[1])));

  settled.set(userId, { sets: sets.length, actions: calls.length });
  return arrived;
}

const payloadOf = (arrived: Arrived, eventType: string) => arrived.actions.find(({ body }) => body.event_type === eventType)!.body.event_payload;
const sessionGone = (sessionId: string) => expectZitadelError(sessions.getSession({ sessionId }), Code.NotFound, "QUERY-SFeaa", "Session does not exist");

beforeAll(async () => {
  [push, actions] = await Promise.all([new PushReceiver().start(), new ActionsReceiver().start()]);
  server = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1", SSF_LONG_POLL_MS: "300" } });
  issuer = (await ssfCall(server, "GET", "/.well-known/ssf-configuration")).json.issuer as string;
  adminId = await adminUserId(server);
  users = userClient("connect-json", server.baseUrl, server.adminToken);
  records = createClient(UserRecordService, transport("connect-json", server.baseUrl, server.adminToken));
  sessions = sessionClient("connect-json", server.baseUrl, server.adminToken);

  const receiversOrg = await addOrg(server);
  strictOrg = await addOrg(server);
  const [pushReceiver, pollReceiver, policy] = await Promise.all([
    addMachine(server, receiversOrg, "SSF_RECEIVER"),
    addMachine(server, receiversOrg, "SSF_RECEIVER"),
    cli(server, "lockout", "set", "--org", strictOrg, "--max-password-attempts", String(MAX_PASSWORD_ATTEMPTS)),
  ]);
  expect(policy.code, policy.stderr).toBe(0);
  pushStream = { aud: pushReceiver.userId, id: await createStream(pushReceiver, { method: PUSH, endpoint_url: push.url, authorization_header: "Bearer push-secret" }) };
  pollStream = { aud: pollReceiver.userId, token: pollReceiver.token, id: await createStream(pollReceiver) };

  await attachTarget(server, actions, "lock-paths", EVENT_TYPES);
  // Probes are added until one reaches all three receivers: the executions and streams are
  // routed by then, so everything later is.
  for (let ready = false; !ready; ) {
    const probe = await addHuman(users);
    const arrived = await arrivedFor(probe, 1, 1, 1_000);
    ready = arrived.push.length > 0 && arrived.poll.length > 0 && arrived.actions.length > 0;
  }
});
afterAll(async () => {
  await server?.stop();
  await Promise.all([push?.stop(), actions?.stop()]);
});

describe("each lock path sends exactly the events §4 lists, on push, on poll and to the Actions target", () => {
  it("ZITADEL's LockUser and UnlockUser: account-disabled and session-revoked of one cause, then account-enabled", async () => {
    const userId = await addHuman(users);
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    const arrived = await expectArrivals(
      userId,
      [ADDED_SET, [DISABLED, 2, byAdmin()], [REVOKED, 2, byAdmin("account locked by an administrator")], [ENABLED, 3, byAdmin()]],
      [added(), ["user.locked", 2, adminId], ["user.unlocked", 3, adminId]],
    );
    // ZITADEL's lock event has no payload.
    expect(payloadOf(arrived, "user.locked")).toBeNull();
  });

  it("the lockout policy at the Nth wrong password: its lock is the policy's; the open session ends", async () => {
    const userId = await addHuman(users, { orgId: strictOrg });
    const open = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
    for (let attempt = 1; attempt <= MAX_PASSWORD_ATTEMPTS; attempt++) {
      await expectCode(sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password: "wrong" } } }), Code.InvalidArgument);
    }
    await sessionGone(open.sessionId);
    // The last wrong password and the lock are one commit (sequences 4 and 5), so one cause.
    const policy = { initiating_entity: "policy" };
    const arrived = await expectArrivals(
      userId,
      [ADDED_SET, [DISABLED, 4, policy], [REVOKED, 4, { ...policy, reason_admin: { en: "account locked after too many wrong passwords" } }]],
      [
        added(),
        ["user.human.password.check.failed", 2, adminId],
        ["user.human.password.check.failed", 3, adminId],
        ["user.human.password.check.failed", 4, adminId],
        ["user.locked", 5, adminId],
      ],
    );
    expect(payloadOf(arrived, "user.locked")).toEqual({ cause: "policy" });
  });

  it("bulk lock with a reason and bulk unlock: each user's own events, the reason on both SETs of the lock", async () => {
    const withPassword = await addHuman(users);
    // Without a password: no credential-change, so its first SET is the lock's.
    const withoutPassword = await addHuman(users, { password: false });
    const ids = [withPassword, withoutPassword];
    const locked = await records.bulkLockUsers({ userIds: ids, reason: "breach 7" });
    expect(locked.results.map((result) => result.outcome.case)).toEqual(["details", "details"]);
    const unlocked = await records.bulkUnlockUsers({ userIds: ids });
    expect(unlocked.results.map((result) => result.outcome.case)).toEqual(["details", "details"]);

    const lockSets: ExpectedSet[] = [[DISABLED, 2, byAdmin("breach 7")], [REVOKED, 2, byAdmin("breach 7")], [ENABLED, 3, byAdmin()]];
    const calls: ExpectedCall[] = [added(), ["user.locked", 2, adminId], ["user.unlocked", 3, adminId]];
    const first = await expectArrivals(withPassword, [ADDED_SET, ...lockSets], calls);
    const second = await expectArrivals(withoutPassword, lockSets, calls);
    expect(payloadOf(first, "user.locked")).toEqual({ cause: "admin", reason: "breach 7" });
    // One cause per user: the two users' locks are two commits.
    expect(first.push[1]!.claims.txn).not.toBe(second.push[0]!.claims.txn);
  });

  it("our lock with a reason and an end, and that end: account-enabled initiated by the system", async () => {
    const userId = await addHuman(users);
    await records.lockUser({ userId, reason: "phished, ticket 42", end: { case: "duration", value: durationFromMs(1000) } });
    const arrived = await expectArrivals(
      userId,
      [ADDED_SET, [DISABLED, 2, byAdmin("phished, ticket 42")], [REVOKED, 2, byAdmin("phished, ticket 42")], [ENABLED, 3, { initiating_entity: "system" }]],
      [added(), ["user.locked", 2, adminId], ["user.unlocked", 3, "SYSTEM"]],
    );
    expect(payloadOf(arrived, "user.locked")).toEqual({ cause: "admin", reason: "phished, ticket 42", expiresAt: expect.any(String) });
  });

  it("deactivate, reactivate and delete", async () => {
    const userId = await addHuman(users);
    await users.deactivateUser({ userId });
    await users.reactivateUser({ userId });
    await users.deleteUser({ userId });
    await expectArrivals(
      userId,
      [
        ADDED_SET,
        [DISABLED, 2, byAdmin()],
        [REVOKED, 2, byAdmin("account deactivated")],
        [ENABLED, 3, byAdmin()],
        [PURGED, 4, byAdmin()],
        [REVOKED, 4, byAdmin("account deleted")],
      ],
      [added(), ["user.deactivated", 2, adminId], ["user.reactivated", 3, adminId], ["user.removed", 4, adminId]],
    );
  });

  it("a session ended by a lock: session-revoked at the receivers, and the session is gone here", async () => {
    const userId = await addHuman(users);
    const signedIn = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password: PASSWORD } } });
    expect((await sessions.getSession({ sessionId: signedIn.sessionId })).session!.factors!.user!.id).toBe(userId);
    await users.lockUser({ userId });
    await sessionGone(signedIn.sessionId);
    // The password check sends no SET; the lock's cause is its own commit, sequence 3.
    await expectArrivals(
      userId,
      [ADDED_SET, [DISABLED, 3, byAdmin()], [REVOKED, 3, byAdmin("account locked by an administrator")]],
      [added(), ["user.human.password.check.succeeded", 2, adminId], ["user.locked", 3, adminId]],
    );
  });

  it("a human added with a password: credential-change; one added without: nothing", async () => {
    const withPassword = await addHuman(users);
    const withoutPassword = await addHuman(users, { password: false });
    const arrived = await expectArrivals(withPassword, [ADDED_SET], [added()]);
    // The event's payload goes to the target without the password, and without its hash.
    const payload = payloadOf(arrived, "user.human.added") as { human: Record<string, unknown> };
    expect(JSON.stringify(payload)).not.toContain(PASSWORD);
    expect(payload.human).not.toHaveProperty("passwordHash");
    expect(payload.human).toMatchObject({ email: expect.stringContaining("@example.com") });
    // Nothing for the user without one: its lock's SET is the first it gets.
    await users.lockUser({ userId: withoutPassword });
    await expectArrivals(
      withoutPassword,
      [[DISABLED, 2, byAdmin()], [REVOKED, 2, byAdmin("account locked by an administrator")]],
      [added(), ["user.locked", 2, adminId]],
    );
  });
});

it("nothing more arrived for any path later; every SET passes the per-SET checks and carries the stream's header", async () => {
  // A change after all the others: once it has reached all three receivers, so has what came before.
  const sentinel = await addHuman(users);
  await users.lockUser({ userId: sentinel });
  await expectArrivals(
    sentinel,
    [ADDED_SET, [DISABLED, 2, byAdmin()], [REVOKED, 2, byAdmin("account locked by an administrator")]],
    [added(), ["user.locked", 2, adminId]],
  );
  for (const [userId, counts] of settled) {
    const arrived = await arrivedFor(userId, 0, 0);
    expect([arrived.push.length, arrived.poll.length, arrived.actions.length], userId).toEqual([counts.sets, counts.sets, counts.actions]);
  }
  await checkAll(server, push.received.map((r) => r.set), pushStream.aud);
  expect(new Set(push.received.map((r) => `${r.headers.authorization} ${r.headers["content-type"]}`))).toEqual(new Set(["Bearer push-secret application/secevent+jwt"]));
  expect(actions.received.every((call) => call.signatureValid)).toBe(true);
});

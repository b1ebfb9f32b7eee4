/**
 * SSF delivery end to end (EXTENSIONS.md §4): a push stream (RFC 8935) with a real receiver on
 * 127.0.0.1 and a poll stream (RFC 8936) polled over HTTP, each SET checked as a receiver checks
 * it against the jwks_uri. Stream status (paused holds and sends later in order, disabled drops),
 * subjects, verification events, a receiver's refusal, and a rotated key published until its
 * SETs are acknowledged.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userClient, type UserClient } from "../support/clients.js";
import { addHuman, addMachine, addOrg, cli } from "../support/fixtures.js";
import { checkAll, pollUntil, PushReceiver } from "../support/set-receiver.js";
import { CAEP, POLL, PUSH, RISC, ssfCall } from "../support/ssf-http.js";
import { startServer, type TestServer } from "../support/server.js";
import { sleep, until } from "../support/wait.js";

const DISABLED = `${RISC}account-disabled`;
const ENABLED = `${RISC}account-enabled`;
const REVOKED = `${CAEP}session-revoked`;
const VERIFICATION = "https://schemas.openid.net/secevent/ssf/event-type/verification";
/** Not credential-change: a user added here would cause one (test/ssf/lock-paths.test.ts has them). */
const REQUESTED = [DISABLED, ENABLED, `${RISC}account-purged`, REVOKED];

let server: TestServer;
let users: UserClient;
let push: PushReceiver;
let pushStream: { id: string; receiver: { userId: string; token: string } };
let pollStream: { id: string; receiver: { userId: string; token: string } };


async function createStream(receiver: { token: string }, delivery: Record<string, unknown>): Promise<string> {
  const created = await ssfCall(server, "POST", "/ssf/streams", { token: receiver.token, body: { delivery, events_requested: REQUESTED } });
  expect(created.status).toBe(201);
  return created.json.stream_id as string;
}

/** The pushed SETs from `from` on, checked, as [type, user] pairs. */
async function pushed(from = 0) {
  const checked = await checkAll(server, push.received.slice(from).map((r) => r.set), pushStream.receiver.userId);
  return checked.map((set) => [set.type, (set.claims.sub_id as { sub?: string }).sub]);
}

beforeAll(async () => {
  push = await new PushReceiver().start();
  server = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1", SSF_LONG_POLL_MS: "300", SSF_MIN_VERIFICATION_INTERVAL_S: "0" } });
  const orgId = await addOrg(server);
  const pushReceiver = await addMachine(server, orgId, "SSF_RECEIVER");
  const pollReceiver = await addMachine(server, orgId, "SSF_RECEIVER");
  pushStream = { receiver: pushReceiver, id: await createStream(pushReceiver, { method: PUSH, endpoint_url: push.url, authorization_header: "Bearer push-secret" }) };
  pollStream = { receiver: pollReceiver, id: await createStream(pollReceiver, { method: POLL }) };
  users = userClient("connect-json", server.baseUrl, server.adminToken);
});
afterAll(async () => {
  await server?.stop();
  await push?.stop();
});

describe("a lock and an unlock reach both streams", () => {
  it("account-disabled and session-revoked with one txn, then account-enabled; signed, verified, in order", async () => {
    const userId = await addHuman(users);
    const from = push.received.length;
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await until(() => push.received.length >= from + 3);
    await sleep(200);
    expect(await pushed(from)).toEqual([
      [DISABLED, userId],
      [REVOKED, userId],
      [ENABLED, userId],
    ]);
    expect(push.received.slice(from).map((r) => [r.headers.authorization, r.headers["content-type"]])).toEqual(
      Array(3).fill(["Bearer push-secret", "application/secevent+jwt"]),
    );
    const [disabled, revoked, enabled] = await checkAll(server, push.received.slice(from).map((r) => r.set), pushStream.receiver.userId);
    expect(disabled!.claims.txn).toBe(revoked!.claims.txn);
    expect(enabled!.claims.txn).not.toBe(disabled!.claims.txn);
    expect(disabled!.event).toMatchObject({ initiating_entity: "admin" });

    // The poll stream: the same events, other jtis, the same txn per cause.
    const polled = await checkAll(server, await pollUntil(server, pollStream.id, pollStream.receiver.token, 3), pollStream.receiver.userId);
    const ours = polled.filter((set) => (set.claims.sub_id as { sub?: string }).sub === userId);
    expect(ours.map((set) => set.type)).toEqual([DISABLED, REVOKED, ENABLED]);
    expect(ours[0]!.claims.txn).toBe(disabled!.claims.txn);
    expect(ours[0]!.claims.jti).not.toBe(disabled!.claims.jti);
  });
});

describe("stream status", () => {
  const setStatus = async (status: string) =>
    expect((await ssfCall(server, "POST", "/ssf/status", { token: pushStream.receiver.token, body: { stream_id: pushStream.id, status } })).status).toBe(200);

  it("paused holds the events and sends them in order once enabled; disabled drops them", async () => {
    const userId = await addHuman(users);
    await sleep(300);
    const from = push.received.length;
    await setStatus("paused");
    await users.lockUser({ userId });
    await users.unlockUser({ userId });
    await sleep(1000);
    expect(push.received.length).toBe(from);
    await setStatus("enabled");
    await until(() => push.received.length >= from + 3);
    expect(await pushed(from)).toEqual([
      [DISABLED, userId],
      [REVOKED, userId],
      [ENABLED, userId],
    ]);

    await setStatus("disabled");
    await users.lockUser({ userId });
    await sleep(1000);
    await setStatus("enabled");
    await users.unlockUser({ userId });
    await until(() => push.received.length >= from + 4);
    await sleep(300);
    expect((await pushed(from + 3)).map(([type]) => type)).toEqual([ENABLED]);
  });
});

it("a subject removed from the stream gets nothing; others still do", async () => {
  const [out, kept] = [await addHuman(users), await addHuman(users)];
  const iss = (await ssfCall(server, "GET", "/.well-known/ssf-configuration")).json.issuer as string;
  const removed = await ssfCall(server, "POST", "/ssf/subjects:remove", {
    token: pushStream.receiver.token,
    body: { stream_id: pushStream.id, subject: { format: "iss_sub", iss, sub: out } },
  });
  expect(removed.status).toBe(204);
  const from = push.received.length;
  await users.lockUser({ userId: out });
  await users.lockUser({ userId: kept });
  await until(() => push.received.length >= from + 2);
  await sleep(300);
  expect(await pushed(from)).toEqual([
    [DISABLED, kept],
    [REVOKED, kept],
  ]);
});

it("verification: the event carries the receiver's state, on push and on poll", async () => {
  const from = push.received.length;
  const asked = await ssfCall(server, "POST", "/ssf/verify", { token: pushStream.receiver.token, body: { stream_id: pushStream.id, state: "push-state" } });
  expect(asked.status).toBe(204);
  await until(() => push.received.length > from);
  const [pushedSet] = await checkAll(server, [push.received[from]!.set], pushStream.receiver.userId);
  expect([pushedSet!.type, pushedSet!.event, pushedSet!.claims.sub_id]).toEqual([VERIFICATION, { state: "push-state" }, { format: "opaque", id: pushStream.id }]);

  await pollUntil(server, pollStream.id, pollStream.receiver.token, 0, 500);
  expect((await ssfCall(server, "POST", "/ssf/verify", { token: pollStream.receiver.token, body: { stream_id: pollStream.id, state: "poll-state" } })).status).toBe(204);
  const polled = await checkAll(server, await pollUntil(server, pollStream.id, pollStream.receiver.token, 1), pollStream.receiver.userId);
  expect(polled.map((set) => [set.type, set.event])).toEqual([[VERIFICATION, { state: "poll-state" }]]);
});

it("a receiver's 400 parks the delivery and drops a verification event: neither is sent again on its own", async () => {
  const userId = await addHuman(users);
  push.status = 400;
  const parkedBefore = await parkedCount();
  await users.lockUser({ userId });
  await sleep(1500);
  expect(await parkedCount()).toBe(parkedBefore + 1);
  // A verification event it refuses is dropped too, not asked again.
  expect((await ssfCall(server, "POST", "/ssf/verify", { token: pushStream.receiver.token, body: { stream_id: pushStream.id, state: "refused" } })).status).toBe(204);
  await sleep(1000);
  push.status = 202;
  const from = push.received.length;
  await sleep(2500);
  expect(push.received.length).toBe(from);
  // The log names the receiver's reason, not the SET.
  expect(server.output()).not.toContain(push.received[0]?.set.slice(-20) ?? "no set");
});

it("a rotated key stays published while poll SETs it signed wait; it can be retired once they are acknowledged", async () => {
  await pollUntil(server, pollStream.id, pollStream.receiver.token, 0, 500);
  const userId = await addHuman(users);
  await users.lockUser({ userId });
  await sleep(1000);
  const before = (await cli(server, "ssf", "keys")).stdout;
  const oldKid = before.trim().split(/\s+/)[0]!;
  expect((await cli(server, "ssf", "rotate-key")).code).toBe(0);
  const refused = await cli(server, "ssf", "retire-key", oldKid);
  expect(refused.code).not.toBe(0);
  expect(refused.stderr).toContain("not acknowledged yet");
  const polled = await checkAll(server, await pollUntil(server, pollStream.id, pollStream.receiver.token, 2), pollStream.receiver.userId);
  expect(polled.map((set) => set.header.kid)).toEqual([oldKid, oldKid]);
  expect((await cli(server, "ssf", "retire-key", oldKid)).code).toBe(0);
});

async function parkedCount(): Promise<number> {
  const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
  return Number(/^outbox_deliveries_total\{outcome="parked"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/**
 * The SETs of user events and of verification requests (app/ssf/sets.ts), each verified as a
 * receiver would (support/set-checks.ts) against the JWKS of a transmitter's keys; and which
 * events each user event causes (domain/ssf/user-signals.ts).
 */
import { beforeAll, describe, expect, it } from "vitest";
import type { JSONWebKeySet } from "jose";
import { LocalCourier } from "../../src/app/courier.js";
import { SigningKeys } from "../../src/app/ssf/signing-keys.js";
import { userEventSets, verificationSet, type SetSigning, type UserEventSource } from "../../src/app/ssf/sets.js";
import type { RecordedUserEvent, UserEvent } from "../../src/domain/events.js";
import {
  ACCOUNT_DISABLED, ACCOUNT_ENABLED, ACCOUNT_PURGED, CREDENTIAL_CHANGE, EVENTS_SUPPORTED, SESSION_REVOKED, VERIFICATION,
} from "../../src/domain/ssf/event-types.js";
import type { SsfStream } from "../../src/domain/ssf/stream.js";
import { SIGNAL_TYPES, signalsOf } from "../../src/domain/ssf/user-signals.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";
import { checkSet } from "../support/set-checks.js";

const ISSUER = "https://idp.example.com";
const USER = "200000000000000001";
const ADMIN = "300000000000000001";
const AT = new Date("2030-01-01T00:00:00.000Z");
type StreamAddress = Pick<SsfStream, "id" | "aud" | "format" | "eventsDelivered">;
const STREAM: StreamAddress = { id: "400000000000000001", aud: "500000000000000001", format: "iss_sub", eventsDelivered: [...EVENTS_SUPPORTED] };
const EXPECTED = { issuer: ISSUER, audience: STREAM.aud };

let signing: SetSigning;
let jwks: JSONWebKeySet;

beforeAll(async () => {
  const keys = new SigningKeys(openSqliteStore(":memory:").ssf);
  await keys.ensure();
  signing = { key: await keys.current(), courier: new LocalCourier() };
  jwks = (await keys.jwks()) as JSONWebKeySet;
});

const recorded = (event: UserEvent, sequence = 5, actor = ADMIN): RecordedUserEvent => ({ ...event, userId: USER, sequence, createdAt: AT, actor });

const source = (event: RecordedUserEvent, extra: Partial<UserEventSource> = {}): UserEventSource => ({ event, txn: `${event.userId}:${event.sequence}`, ...extra });

/** The SETs of the event on STREAM, each checked and reduced to its type and event object. */
async function setsOf(event: RecordedUserEvent, stream: StreamAddress = STREAM, extra: Partial<UserEventSource> = {}) {
  const sets = await userEventSets(source(event, extra), stream, signing, ISSUER, new Date());
  return Promise.all(sets.map(async (signed) => ({ signed, ...(await checkSet(signed.set, jwks, EXPECTED)) })));
}

const common = (initiatingEntity: string) => ({ event_timestamp: AT.getTime() / 1000, initiating_entity: initiatingEntity });

describe("the events of each user event", () => {
  it("an administrator's lock (LockUser): account-disabled, then session-revoked, both by admin", async () => {
    const sets = await setsOf(recorded({ type: "user.locked" }));
    expect(sets.map((s) => s.type)).toEqual([ACCOUNT_DISABLED, SESSION_REVOKED]);
    expect(sets[0]!.event).toEqual(common("admin"));
    expect(sets[1]!.event).toEqual({ ...common("admin"), reason_admin: { en: "account locked by an administrator" } });
  });

  it("a lock with a reason (our LockUser, bulk): the reason is reason_admin of both", async () => {
    const sets = await setsOf(recorded({ type: "user.locked", payload: { cause: "admin", reason: "phished", expiresAt: "2030-01-02T00:00:00.000Z" } }));
    expect(sets.map((s) => s.event)).toEqual([
      { ...common("admin"), reason_admin: { en: "phished" } },
      { ...common("admin"), reason_admin: { en: "phished" } },
    ]);
  });

  it("the lockout policy's lock: initiated by policy", async () => {
    const sets = await setsOf(recorded({ type: "user.locked", payload: { cause: "policy" } }, 5, "300000000000000003"));
    expect(sets.map((s) => [s.type, s.event.initiating_entity])).toEqual([
      [ACCOUNT_DISABLED, "policy"],
      [SESSION_REVOKED, "policy"],
    ]);
    expect(sets[0]!.event).not.toHaveProperty("reason_admin");
    expect(sets[1]!.event.reason_admin).toEqual({ en: "account locked after too many wrong passwords" });
  });

  it("an unlock by an administrator, and the automatic end of a lock by the system: account-enabled", async () => {
    const byAdmin = await setsOf(recorded({ type: "user.unlocked" }));
    const bySystem = await setsOf(recorded({ type: "user.unlocked" }, 5, "SYSTEM"));
    expect(byAdmin.map((s) => [s.type, s.event])).toEqual([[ACCOUNT_ENABLED, common("admin")]]);
    expect(bySystem.map((s) => [s.type, s.event])).toEqual([[ACCOUNT_ENABLED, common("system")]]);
  });

  it("deactivate and reactivate: account-disabled (with session-revoked) and account-enabled", async () => {
    expect((await setsOf(recorded({ type: "user.deactivated" }))).map((s) => s.type)).toEqual([ACCOUNT_DISABLED, SESSION_REVOKED]);
    expect((await setsOf(recorded({ type: "user.reactivated" }))).map((s) => s.type)).toEqual([ACCOUNT_ENABLED]);
  });

  it("delete: account-purged, with session-revoked", async () => {
    const sets = await setsOf(recorded({ type: "user.removed" }));
    expect(sets.map((s) => s.type)).toEqual([ACCOUNT_PURGED, SESSION_REVOKED]);
    expect(sets[1]!.event.reason_admin).toEqual({ en: "account deleted" });
  });

  it("a human added with a password: credential-change, a password created", async () => {
    const human = { profile: { givenName: "G", familyName: "G" }, email: "g@example.com", emailVerified: true, passwordChangeRequired: false };
    const withPassword = await setsOf(recorded({ type: "user.human.added", payload: { orgId: "1", username: "g", human: { ...human, passwordHash: "$2a$..." } } }, 1));
    expect(withPassword.map((s) => [s.type, s.event])).toEqual([
      [CREDENTIAL_CHANGE, { credential_type: "password", change_type: "create", ...common("admin"), reason_admin: { en: "password set when the account was created" } }],
    ]);
    expect(await setsOf(recorded({ type: "user.human.added", payload: { orgId: "1", username: "g", human } }, 1))).toEqual([]);
  });

  it("password checks and machine users cause nothing", async () => {
    expect(await setsOf(recorded({ type: "user.human.password.check.failed" }))).toEqual([]);
    expect(await setsOf(recorded({ type: "user.human.password.check.succeeded" }))).toEqual([]);
    expect(await setsOf(recorded({ type: "user.machine.added", payload: { orgId: "1", username: "m", machine: { name: "m", description: "" } } }, 1))).toEqual([]);
  });
});

it("SIGNAL_TYPES, by which a commit routes an event to streams, names every signal the event causes, in order", () => {
  const human = { profile: { givenName: "G", familyName: "G" }, email: "g@example.com", emailVerified: true, passwordChangeRequired: false, passwordHash: "$2a$..." };
  const samples: UserEvent[] = [
    { type: "user.human.added", payload: { orgId: "1", username: "g", human } },
    { type: "user.machine.added", payload: { orgId: "1", username: "m", machine: { name: "m", description: "" } } },
    { type: "user.locked" },
    { type: "user.locked", payload: { cause: "policy" } },
    { type: "user.unlocked" },
    { type: "user.deactivated" },
    { type: "user.reactivated" },
    { type: "user.removed" },
    { type: "user.human.password.check.failed" },
    { type: "user.human.password.check.succeeded" },
  ];
  expect(new Set(samples.map((event) => event.type))).toEqual(new Set(Object.keys(SIGNAL_TYPES)));
  for (const event of samples) expect(signalsOf(recorded(event)).map((signal) => signal.type), event.type).toEqual(SIGNAL_TYPES[event.type]);
});

describe("the claims", () => {
  it("iss, aud and sub_id (iss_sub) name the transmitter, the stream's receiver and the user", async () => {
    const [set] = await setsOf(recorded({ type: "user.unlocked" }));
    expect(set!.claims.iss).toBe(ISSUER);
    expect(set!.claims.aud).toBe(STREAM.aud);
    expect(set!.claims.sub_id).toEqual({ format: "iss_sub", iss: ISSUER, sub: USER });
    expect(set!.header.kid).toBe(signing.key.kid);
  });

  it("a stream with format email names a user with an address by it, others by iss_sub", async () => {
    const byEmail: StreamAddress = { ...STREAM, format: "email" };
    const [withEmail] = await setsOf(recorded({ type: "user.unlocked" }), byEmail, { email: "gigi@example.com" });
    const [without] = await setsOf(recorded({ type: "user.unlocked" }), byEmail);
    expect(withEmail!.claims.sub_id).toEqual({ format: "email", email: "gigi@example.com" });
    expect(without!.claims.sub_id).toEqual({ format: "iss_sub", iss: ISSUER, sub: USER });
  });

  it("a SET made again (a redelivery) has the same jti; another stream or event type gets another", async () => {
    const lock = recorded({ type: "user.locked" });
    const first = await setsOf(lock);
    const again = await setsOf(lock);
    const otherStream = await setsOf(lock, { ...STREAM, id: "400000000000000002" });
    expect(again.map((s) => s.claims.jti)).toEqual(first.map((s) => s.claims.jti));
    expect(new Set([...first, ...otherStream].map((s) => s.claims.jti)).size).toBe(4);
  });

  it("txn is the delivery's cause: the SETs of one commit share it, on every stream", async () => {
    // The policy's lock commits with the wrong password that caused it (sequence 6 after 5).
    const lock = recorded({ type: "user.locked", payload: { cause: "policy" } }, 6);
    const sets = [...(await setsOf(lock, STREAM, { txn: `${USER}:5` })), ...(await setsOf(lock, { ...STREAM, id: "400000000000000002" }, { txn: `${USER}:5` }))];
    expect(sets.map((s) => s.claims.txn)).toEqual(Array(4).fill(`${USER}:5`));
  });

  it("only what the stream delivers: a stream without session-revoked gets the account event alone", async () => {
    const sets = await setsOf(recorded({ type: "user.locked" }), { ...STREAM, eventsDelivered: [ACCOUNT_DISABLED] });
    expect(sets.map((s) => s.type)).toEqual([ACCOUNT_DISABLED]);
    expect(await setsOf(recorded({ type: "user.locked" }), { ...STREAM, eventsDelivered: [] })).toEqual([]);
  });
});

describe("the verification event", () => {
  it("carries the receiver's state, and names the stream as an opaque subject", async () => {
    const signed = await verificationSet({ id: 7, state: "c3RhdGU" }, STREAM, signing, ISSUER, new Date());
    const set = await checkSet(signed.set, jwks, EXPECTED);
    expect(set.type).toBe(VERIFICATION);
    expect(set.event).toEqual({ state: "c3RhdGU" });
    expect(set.claims.sub_id).toEqual({ format: "opaque", id: STREAM.id });
    expect(signed.jti).toBe(set.claims.jti);
    const again = await verificationSet({ id: 7, state: "c3RhdGU" }, STREAM, signing, ISSUER, new Date());
    expect(again.jti).toBe(signed.jti);
  });

  it("without a state has an empty event object", async () => {
    const set = await checkSet((await verificationSet({ id: 8 }, STREAM, signing, ISSUER, new Date())).set, jwks, EXPECTED);
    expect(set.event).toEqual({});
  });
});

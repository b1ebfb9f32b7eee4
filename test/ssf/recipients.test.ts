/**
 * Which streams a user's events go to (SsfStreams.delivers, for the delivery side): by the
 * stream's status and its subjects (domain/ssf/subjects.ts), with default_subjects ALL and NONE;
 * and the minimum interval between verification requests. SQLite in memory, a clock of its own.
 */
import { describe, expect, it } from "vitest";
import { RetryLater, SsfStreams } from "../../src/app/ssf/streams.js";
import type { Principal } from "../../src/domain/permissions.js";
import type { DefaultSubjects, SubjectId } from "../../src/domain/ssf/subjects.js";
import { parseOutboundAllow } from "../../src/security/outbound-urls.js";
import { openSqliteStore } from "../../src/store/sqlite/sqlite-store.js";

const ISSUER = "https://transmitter.example.com";
const USER = "200000000000000001";
const EMAIL = "Gigi@Example.com";

let receivers = 0;
const receiver = (): Principal => ({ userId: `9000000000000000${String(++receivers).padStart(2, "0")}`, orgId: "1", grants: [{ role: "SSF_RECEIVER", orgId: null }] });

function transmitter(defaultSubjects: DefaultSubjects) {
  let now = Date.parse("2030-01-01T00:00:00Z");
  const store = openSqliteStore(":memory:").ssf;
  const streams = new SsfStreams(store, { issuer: ISSUER, defaultSubjects, minVerificationIntervalS: 10 }, parseOutboundAllow(undefined), { now: () => new Date(now) });
  const stream = async () => {
    const caller = receiver();
    return { caller, id: (await streams.create(caller, { delivery: { method: "urn:ietf:rfc:8936" }, format: "iss_sub" })).id };
  };
  const recipientIds = async (email?: string) => {
    const ids: string[] = [];
    for (const one of await store.listStreams()) if (await streams.delivers(one, USER, email)) ids.push(one.id);
    return ids;
  };
  return { streams, stream, recipientIds, advance: (seconds: number) => (now += seconds * 1000) };
}

const byId: SubjectId = { format: "iss_sub", iss: ISSUER, sub: USER };
const byEmail: SubjectId = { format: "email", email: "gigi@example.COM" };

describe("default_subjects ALL", () => {
  it("every stream gets every user's events, but a disabled one; a paused one holds them", async () => {
    const { streams, stream, recipientIds } = transmitter("ALL");
    const enabled = await stream();
    const paused = await stream();
    const disabled = await stream();
    await streams.setStatus(paused.caller, paused.id, "paused");
    await streams.setStatus(disabled.caller, disabled.id, "disabled");
    expect(await recipientIds(EMAIL)).toEqual([enabled.id, paused.id]);
  });

  it("a removed subject stops the user's events, by either identifier; adding it again resumes them", async () => {
    const { streams, stream, recipientIds } = transmitter("ALL");
    const one = await stream();
    const other = await stream();
    await streams.setSubject(one.caller, one.id, byEmail, false);
    expect(await recipientIds(EMAIL)).toEqual([other.id]);
    // Removed by email: the user is out, whatever its id says; a user without the address is not.
    await streams.setSubject(one.caller, one.id, byId, true);
    expect(await recipientIds(EMAIL)).toEqual([other.id]);
    expect(await recipientIds()).toEqual([one.id, other.id]);
    await streams.setSubject(one.caller, one.id, byEmail, true);
    expect(await recipientIds(EMAIL)).toEqual([one.id, other.id]);
  });

  it("a subject of another issuer names nobody here", async () => {
    const { streams, stream, recipientIds } = transmitter("ALL");
    const one = await stream();
    await streams.setSubject(one.caller, one.id, { format: "iss_sub", iss: "https://elsewhere.example.com", sub: USER }, false);
    expect(await recipientIds()).toEqual([one.id]);
  });
});

describe("default_subjects NONE", () => {
  it("a stream gets only the users added to it, by either identifier, until removed", async () => {
    const { streams, stream, recipientIds } = transmitter("NONE");
    const byIdStream = await stream();
    const byEmailStream = await stream();
    await stream(); // adds nobody: never a recipient
    expect(await recipientIds(EMAIL)).toEqual([]);
    await streams.setSubject(byIdStream.caller, byIdStream.id, byId, true);
    await streams.setSubject(byEmailStream.caller, byEmailStream.id, byEmail, true);
    expect(await recipientIds(EMAIL)).toEqual([byIdStream.id, byEmailStream.id]);
    expect(await recipientIds()).toEqual([byIdStream.id]);
    await streams.setSubject(byIdStream.caller, byIdStream.id, byId, false);
    expect(await recipientIds(EMAIL)).toEqual([byEmailStream.id]);
  });
});

describe("verification requests", () => {
  it("one per min_verification_interval; the refusal says when to ask again", async () => {
    const { streams, stream, advance } = transmitter("ALL");
    const { caller, id } = await stream();
    await streams.requestVerification(caller, id, "first");
    advance(4);
    const refused = await streams.requestVerification(caller, id, "too soon").catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(RetryLater);
    expect((refused as RetryLater).retryAfterS).toBe(6);
    advance(6);
    await streams.requestVerification(caller, id, undefined);
    const pending = await streams.pendingVerifications(10);
    expect(pending.map((v) => v.state)).toEqual(["first", undefined]);
    await streams.verificationTaken(pending[0]!.id);
    expect((await streams.pendingVerifications(10)).map((v) => v.id)).toEqual([pending[1]!.id]);
  });
});

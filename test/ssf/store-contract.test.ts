/**
 * The transmitter's part of the Store (store/ssf-store.ts), with identical expectations on every
 * backend of STORE_BACKENDS (SQLite, PGlite, and PostgreSQL when TEST_POSTGRES_URL is set).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { POLL, PUSH } from "../../src/domain/ssf/event-types.js";
import type { SsfStream } from "../../src/domain/ssf/stream.js";
import type { SsfStore, StoredSigningKey } from "../../src/store/ssf-store.js";
import { ConflictError } from "../../src/store/store.js";
import { STORE_BACKENDS } from "../support/stores.js";

let counter = 0;
const uniq = (prefix: string) => `${prefix}-${String(++counter).padStart(5, "0")}`;
/** Instants with milliseconds, so that rounding shows. */
const at = (n: number) => new Date(Date.UTC(2030, 0, 1, 0, 0, 0, 123) + n * 1_001);

const key = (n: number): StoredSigningKey => ({ kid: uniq("kid"), privateKeyPem: `pem-${n}`, publicJwk: { kty: "RSA", n: `n${n}`, e: "AQAB" }, createdAt: at(n) });

function stream(overrides: Partial<SsfStream> = {}): SsfStream {
  const receiverId = uniq("receiver");
  return {
    id: uniq("stream"),
    receiverId,
    aud: receiverId,
    delivery: { method: PUSH, endpointUrl: "https://receiver.example.com/events", authorizationHeader: "Bearer secret" },
    eventsRequested: ["urn:a", "urn:b"],
    eventsDelivered: ["urn:a"],
    description: "a stream",
    format: "iss_sub",
    defaultSubjects: "ALL",
    status: "enabled",
    createdAt: at(1),
    updatedAt: at(1),
    ...overrides,
  };
}

for (const backend of STORE_BACKENDS) {
  describe(`${backend.name}: the transmitter's store`, () => {
    let ssf: SsfStore;
    let dispose: () => Promise<void>;
    beforeAll(async () => {
      const opened = await backend.open();
      ssf = opened.store.ssf;
      dispose = opened.dispose;
    });
    afterAll(() => dispose());

    it("keys: one first key, rotations keep the old ones published, retiring deletes only a rotated-out key", async () => {
      const first = key(1);
      expect(await ssf.addFirstKey(first)).toBe(true);
      expect(await ssf.addFirstKey(key(2))).toBe(false);
      expect(await ssf.publishedKeys()).toEqual([first]);

      const second = key(3);
      await ssf.rotateKey(second, at(4));
      expect(await ssf.publishedKeys()).toEqual([second, { ...first, rotatedAt: at(4) }]);
      expect(await ssf.addFirstKey(key(5))).toBe(false);

      expect(await ssf.retireKey(second.kid)).toBe("current");
      expect(await ssf.retireKey("no-such-kid")).toBe("unknown");
      expect(await ssf.retireKey(first.kid)).toBe("retired");
      expect(await ssf.publishedKeys()).toEqual([second]);
    });

    it("streams: stored and read back as given, one per receiver", async () => {
      const pushStream = stream();
      const pollStream = stream({ delivery: { method: POLL }, eventsRequested: undefined, description: undefined, eventsDelivered: [] });
      await ssf.insertStream(pushStream);
      await ssf.insertStream(pollStream);
      expect(await ssf.getStream(pushStream.id)).toEqual(pushStream);
      expect(await ssf.getStream(pollStream.id)).toEqual(pollStream);
      expect(await ssf.getStream("no-such-stream")).toBeUndefined();
      const second = ssf.insertStream(stream({ receiverId: pushStream.receiverId }));
      await expect(second).rejects.toEqual(new ConflictError("receiver"));
      expect(await ssf.listStreams(pushStream.receiverId)).toEqual([pushStream]);
      expect((await ssf.listStreams()).map((s) => s.id)).toEqual(expect.arrayContaining([pushStream.id, pollStream.id]));
    });

    it("streams: the receiver's choices and the status change alone", async () => {
      const original = stream();
      await ssf.insertStream(original);
      const config = { delivery: { method: POLL }, format: "email", eventsDelivered: [] } as const;
      expect(await ssf.updateStreamConfig(original.id, { ...config, eventsDelivered: [] }, at(2))).toBe(true);
      expect(await ssf.setStreamStatus(original.id, "paused", "maintenance", at(3))).toBe(true);
      const { eventsRequested, description, ...kept } = original;
      expect(await ssf.getStream(original.id)).toEqual({ ...kept, ...config, status: "paused", statusReason: "maintenance", updatedAt: at(3) });
      expect(await ssf.setStreamStatus(original.id, "enabled", undefined, at(4))).toBe(true);
      expect((await ssf.getStream(original.id))?.statusReason).toBeUndefined();
      expect(await ssf.updateStreamConfig("no-such-stream", { ...config, eventsDelivered: [] }, at(2))).toBe(false);
      expect(await ssf.setStreamStatus("no-such-stream", "paused", undefined, at(2))).toBe(false);
    });

    it("subjects: the latest add or remove of each is kept, per stream", async () => {
      const one = stream();
      const other = stream();
      await ssf.insertStream(one);
      await ssf.insertStream(other);
      await ssf.setSubject(one.id, "email a@example.com", false);
      await ssf.setSubject(one.id, "email b@example.com", true);
      await ssf.setSubject(one.id, "email b@example.com", false);
      await ssf.setSubject(other.id, "email a@example.com", true);
      expect(await ssf.subjectEntries(one.id, ["email a@example.com", "email b@example.com", "email c@example.com"])).toEqual(
        new Map([
          ["email a@example.com", false],
          ["email b@example.com", false],
        ]),
      );
      expect(await ssf.subjectEntries(other.id, ["email a@example.com"])).toEqual(new Map([["email a@example.com", true]]));
      expect(await ssf.subjectEntries(one.id, [])).toEqual(new Map());
    });

    it("verification requests: at most one per interval, kept until taken, held while the stream is paused", async () => {
      const verified = stream();
      await ssf.insertStream(verified);
      expect(await ssf.requestVerification(verified.id, "s1", at(10), at(0))).toBe(true);
      // The previous request (at(10)) is later than notAfter: refused, nothing recorded.
      expect(await ssf.requestVerification(verified.id, "s2", at(15), at(5))).toBe(false);
      expect(await ssf.requestVerification(verified.id, undefined, at(20), at(10))).toBe(true);
      expect((await ssf.getStream(verified.id))?.lastVerificationAt).toEqual(at(20));
      const pending = (await ssf.pendingVerifications(1000)).filter((v) => v.streamId === verified.id);
      expect(pending.map(({ id, ...rest }) => rest)).toEqual([
        { streamId: verified.id, state: "s1", requestedAt: at(10) },
        { streamId: verified.id, requestedAt: at(20) },
      ]);
      await ssf.deleteVerification(pending[0]!.id);
      expect((await ssf.pendingVerifications(1000)).filter((v) => v.streamId === verified.id).map((v) => v.id)).toEqual([pending[1]!.id]);
      // A paused stream's requests wait (others are not held up behind them) until it is enabled.
      await ssf.setStreamStatus(verified.id, "paused", undefined, at(21));
      expect((await ssf.pendingVerifications(1000)).filter((v) => v.streamId === verified.id)).toEqual([]);
      await ssf.setStreamStatus(verified.id, "enabled", undefined, at(22));
      expect((await ssf.pendingVerifications(1000)).filter((v) => v.streamId === verified.id).map((v) => v.id)).toEqual([pending[1]!.id]);
    });

    it("poll queues: oldest first, a jti queued once, acknowledged ones deleted, refused ones kept apart", async () => {
      const polled = stream({ delivery: { method: POLL } });
      const other = stream({ delivery: { method: POLL } });
      await ssf.insertStream(polled);
      await ssf.insertStream(other);
      const set = (n: number, kid = "kid-a") => ({ jti: `jti-${n}`, kid, set: `set-${n}` });
      await ssf.queueSets(polled.id, [set(1), set(2)], at(1));
      await ssf.queueSets(polled.id, [set(2), set(3)], at(2));
      await ssf.queueSets(other.id, [set(1)], at(2));
      const taken = (limit = 10) => ssf.queuedSets(polled.id, limit);
      expect(await taken()).toEqual([1, 2, 3].map((n) => ({ jti: `jti-${n}`, set: `set-${n}` })));
      expect((await taken(2)).map((s) => s.jti)).toEqual(["jti-1", "jti-2"]);
      await ssf.ackSets(polled.id, ["jti-1", "no-such-jti"]);
      await ssf.refuseSets(polled.id, new Map([["jti-2", "invalid_key: unknown kid"]]));
      expect((await taken()).map((s) => s.jti)).toEqual(["jti-3"]);
      expect((await ssf.queuedSets(other.id, 10)).map((s) => s.jti)).toEqual(["jti-1"]);
      const depths = await ssf.queueDepths();
      expect([depths.get(polled.id), depths.get(other.id)]).toEqual([
        { queued: 1, refused: 1 },
        { queued: 1, refused: 0 },
      ]);
    });

    it("a rotated key that signed SETs still waiting in a poll queue is not retired until they are acknowledged", async () => {
      const polled = stream({ delivery: { method: POLL } });
      await ssf.insertStream(polled);
      const [old] = await ssf.publishedKeys();
      await ssf.rotateKey(key(9), at(9));
      await ssf.queueSets(polled.id, [{ jti: "signed-by-old", kid: old!.kid, set: "s" }], at(9));
      expect(await ssf.retireKey(old!.kid)).toBe("waiting");
      await ssf.refuseSets(polled.id, new Map([["signed-by-old", "refused"]]));
      // A refused SET will never be delivered: it holds the key no longer.
      expect(await ssf.retireKey(old!.kid)).toBe("retired");
    });

    it("deleting a stream deletes its subjects, pending verifications and queued SETs", async () => {
      const doomed = stream();
      await ssf.insertStream(doomed);
      await ssf.setSubject(doomed.id, "email a@example.com", false);
      await ssf.requestVerification(doomed.id, "s", at(1), at(0));
      await ssf.queueSets(doomed.id, [{ jti: "j", kid: "k", set: "s" }], at(1));
      expect(await ssf.deleteStream(doomed.id)).toBe(true);
      expect(await ssf.deleteStream(doomed.id)).toBe(false);
      expect(await ssf.getStream(doomed.id)).toBeUndefined();
      expect(await ssf.subjectEntries(doomed.id, ["email a@example.com"])).toEqual(new Map());
      expect((await ssf.pendingVerifications(1000)).filter((v) => v.streamId === doomed.id)).toEqual([]);
      expect(await ssf.queuedSets(doomed.id, 10)).toEqual([]);
      // Its receiver may have a stream again.
      await ssf.insertStream(stream({ receiverId: doomed.receiverId }));
    });
  });
}

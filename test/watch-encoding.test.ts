/**
 * The hand-written WatchUserEventsResponse encoder (src/rpc/watch-encoding.ts) writes exactly the
 * bytes of protobuf-es's reflective toBinary and toJsonString: every event type, with and without
 * a lock's details, timestamps of every precision, text that UTF-8 and JSON must escape, 64-bit
 * sequences, heartbeats; and leaves to the reflective serializer what it does not cover.
 */
import { create, toBinary, toJsonString, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { LockCause, WatchUserEventsResponseSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { USER_EVENT_TYPES } from "../src/domain/events.js";
import { toProtoEvent } from "../src/rpc/user-record-proto.js";
import { encodeWatchResponse } from "../src/rpc/watch-encoding.js";

type Init = MessageInitShape<typeof WatchUserEventsResponseSchema>;

function expectSameBytes(init: Init): void {
  const message = create(WatchUserEventsResponseSchema, init);
  expect(Buffer.from(encodeWatchResponse(message, true)!).toString("hex")).toBe(Buffer.from(toBinary(WatchUserEventsResponseSchema, message)).toString("hex"));
  expect(Buffer.from(encodeWatchResponse(message, false)!).toString("utf8")).toBe(toJsonString(WatchUserEventsResponseSchema, message));
}

const ORG = "312345678901234569";
const event = (type: string, extra: object = {}) => ({
  type,
  sequence: 12_345,
  createdAt: new Date("2026-12-05T22:10:11.123Z"),
  actor: "312345678901234567",
  userId: "312345678901234568",
  ...extra,
});

describe("the watch response encoder", () => {
  it.each(USER_EVENT_TYPES)("writes %s as the reflective encoder does", (type) => {
    // The server's own messages: made from a recorded event as the watch RPC makes them.
    const recorded = event(type, type === "user.locked" ? { payload: { cause: "admin", reason: "compromised", expiresAt: "2027-01-01T00:00:00.5Z" } } : {});
    expectSameBytes({ position: "42:7", kind: { case: "event", value: toProtoEvent(recorded as never, ORG) } });
  });

  it("writes every form of a lock's details", () => {
    for (const payload of [undefined, { cause: "policy" }, { cause: "admin", reason: "" }, { cause: "policy", expiresAt: "2026-12-05T22:10:11Z" }]) {
      expectSameBytes({ position: "1", kind: { case: "event", value: toProtoEvent(event("user.locked", { payload }) as never, ORG) } });
    }
    expectSameBytes({ kind: { case: "event", value: { lock: {} } } });
    expectSameBytes({ kind: { case: "event", value: { lock: { cause: LockCause.UNSPECIFIED, reason: "x" } } } });
  });

  it("writes timestamps of every precision and range", () => {
    for (const nanos of [0, 1, 100, 120_000_000, 123_000_000, 123_456_000, 123_456_700, 123_456_789, 999_999_999]) {
      for (const seconds of [0n, 1n, 1_796_511_649n, -1n, -62_135_596_800n, 253_402_300_799n]) {
        expectSameBytes({ position: "p", kind: { case: "event", value: { creationDate: { seconds, nanos }, lock: { expiresAt: { seconds, nanos } } } } });
      }
    }
  });

  it("writes text that UTF-8 and JSON escape, long text and large numbers", () => {
    const text = ['quote " backslash \\ newline \n tab \t', "ü 漢字 😀", "\u0000\u001f\u2028", "x".repeat(300), ""];
    for (const s of text) {
      expectSameBytes({ position: s, kind: { case: "event", value: { type: s, actorId: s, resourceOwner: s, userId: s, lock: { reason: s } } } });
    }
    for (const sequence of [0n, 1n, 127n, 128n, 2n ** 31n, 2n ** 53n + 1n, 2n ** 64n - 1n]) expectSameBytes({ kind: { case: "event", value: { sequence } } });
  });

  it("writes heartbeats and empty messages", () => {
    expectSameBytes({ position: "9:9", kind: { case: "heartbeat", value: {} } });
    expectSameBytes({ position: "9:9" });
    expectSameBytes({});
  });

  it("leaves to the reflective serializer what JSON cannot carry as it does", () => {
    for (const creationDate of [{ seconds: -62_135_596_801n, nanos: 0 }, { seconds: 253_402_300_800n, nanos: 0 }, { seconds: 1n, nanos: -1 }]) {
      const message = create(WatchUserEventsResponseSchema, { kind: { case: "event", value: { creationDate } } });
      expect(encodeWatchResponse(message, false)).toBeUndefined();
      expect(() => toJsonString(WatchUserEventsResponseSchema, message)).toThrow();
    }
    const unknownCause = create(WatchUserEventsResponseSchema, { kind: { case: "event", value: { lock: { cause: 7 as LockCause } } } });
    expect(encodeWatchResponse(unknownCause, false)).toBeUndefined();
    expect(Buffer.from(encodeWatchResponse(unknownCause, true)!).equals(Buffer.from(toBinary(WatchUserEventsResponseSchema, unknownCause)))).toBe(true);
  });
});

/**
 * A watched event's frame written from the recorded event (src/rpc/watch-encoding.ts) holds
 * exactly the bytes of protobuf-es's reflective toBinary and toJsonString of the message
 * toProtoEvent makes, in the envelope: every event type, every form of a lock's details,
 * timestamps of every precision and range, text that UTF-8 and JSON must escape, large
 * sequences; and leaves to the reflective serializer what JSON cannot carry.
 */
import { create, toBinary, toJsonString } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { WatchUserEventsResponseSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { USER_EVENT_TYPES, type RecordedUserEvent } from "../src/domain/events.js";
import { toProtoEvent } from "../src/rpc/user-record-proto.js";
import { watchEventFrame } from "../src/rpc/watch-encoding.js";

const ORG = "312345678901234569";

const event = (type: string, extra: object = {}) =>
  ({
    type,
    sequence: 12_345,
    createdAt: new Date("2026-12-05T22:10:11.123Z"),
    actor: "312345678901234567",
    userId: "312345678901234568",
    ...extra,
  }) as unknown as RecordedUserEvent;

/** The reflective message, as the watch RPC makes it for a stream that pulls. */
const message = (e: RecordedUserEvent, orgId: string, position: string) =>
  create(WatchUserEventsResponseSchema, { position, kind: { case: "event", value: toProtoEvent(e, orgId) } });

/** The frame: no flags, the length big-endian, the message. */
function envelope(data: Uint8Array): string {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(data.byteLength, 1);
  return Buffer.concat([head, data]).toString("hex");
}

function expectSameBytes(e: RecordedUserEvent, orgId = ORG, position = "MTIzNDU"): void {
  const reflective = message(e, orgId, position);
  expect(Buffer.from(watchEventFrame(e, orgId, position, true)!).toString("hex")).toBe(envelope(toBinary(WatchUserEventsResponseSchema, reflective)));
  expect(Buffer.from(watchEventFrame(e, orgId, position, false)!).toString("hex")).toBe(envelope(Buffer.from(toJsonString(WatchUserEventsResponseSchema, reflective))));
}

describe("a watched event's frame", () => {
  it.each(USER_EVENT_TYPES)("writes %s as the reflective encoder does", (type) => {
    expectSameBytes(event(type, type === "user.locked" ? { payload: { cause: "admin", reason: "compromised", expiresAt: "2027-01-01T00:00:00.5Z" } } : {}));
  });

  it("writes every form of a lock's details", () => {
    for (const payload of [undefined, { cause: "policy" }, { cause: "admin", reason: "" }, { cause: "policy", expiresAt: "2026-12-05T22:10:11Z" }, { cause: "admin", expiresAt: "1960-01-01T00:00:00.001Z" }]) {
      expectSameBytes(event("user.locked", { payload }));
    }
  });

  it("writes times of every precision and range", () => {
    const times = [0, 1, 120, 123, 999, 1_000, 1_796_511_649_000, 1_796_511_649_001, -1, -999, -1_000, -1_001, -62_135_596_800_000, 253_402_300_799_999, 2 ** 31 * 1000 + 7];
    for (const ms of times) {
      const at = new Date(ms);
      expectSameBytes(event("user.locked", { createdAt: at, payload: { cause: "policy", expiresAt: at.toISOString() } }));
    }
  });

  it("writes text that UTF-8 and JSON escape, long text and large sequences", () => {
    const texts = ['quote " backslash \\ newline \n tab \t', "ü 漢字 😀", "\u0000\u001f\u2028", "x".repeat(300), ""];
    for (const s of texts) {
      expectSameBytes(event(s, { actor: s, userId: s }), s, s);
      expectSameBytes(event("user.locked", { actor: s, userId: s, payload: { cause: "admin", reason: s } }), s, s);
    }
    for (const sequence of [0, 1, 127, 128, 2 ** 31, 2 ** 32 + 1, 2 ** 53 - 1]) expectSameBytes(event("user.unlocked", { sequence }));
  });

  it("leaves to the reflective serializer what JSON cannot carry, as it does", () => {
    for (const ms of [-62_135_596_800_001, 253_402_300_800_000]) {
      for (const e of [event("user.unlocked", { createdAt: new Date(ms) }), event("user.locked", { payload: { cause: "admin", expiresAt: new Date(ms).toISOString() } })]) {
        expect(watchEventFrame(e, ORG, "p", false)).toBeUndefined();
        expect(() => toJsonString(WatchUserEventsResponseSchema, message(e, ORG, "p"))).toThrow();
        expect(Buffer.from(watchEventFrame(e, ORG, "p", true)!).toString("hex")).toBe(envelope(toBinary(WatchUserEventsResponseSchema, message(e, ORG, "p"))));
      }
    }
  });
});

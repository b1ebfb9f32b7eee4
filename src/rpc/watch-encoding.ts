/**
 * A watched event's frame (WatchUserEventsResponse with its position and event, in the 5-byte
 * envelope all three protocols' streams use) written from the recorded event itself: neither the
 * reflective message (protobuf-es's `create` and `toProtoEvent`, ~11 µs a delivery) nor the
 * reflective serializers (toBinary and toJsonString, ~9 and ~6 µs for one lock event's message)
 * are run for it (bench/FINDINGS.md, rounds "2026-12-05, watchers at the maximum",
 * "2026-12-06, watchers pushed" and "2026-12-06, watchers' frames"). The bytes are those of toBinary and of toJsonString with their
 * default options (what the server writes with) for the message toProtoEvent makes;
 * test/watch-encoding.test.ts holds them equal for every event type. A date that JSON cannot
 * carry gets undefined: the reflective serializer then refuses it, as before.
 */
import type { RecordedUserEvent } from "../domain/events.js";
import { PROTO_CAUSE } from "./user-record-proto.js";

/** The event's frame in protobuf's binary format or in JSON (UTF-8); undefined where the reflective serializer must decide. */
export function watchEventFrame(event: RecordedUserEvent, orgId: string, position: string, binary: boolean): Uint8Array | undefined {
  return binary ? binaryFrame(event, orgId, position) : jsonFrame(event, orgId, position);
}

/** What toProtoEvent makes of a lock's payload: its cause, its end in ms since the epoch, its reason. */
interface Lock {
  cause: number;
  expiresMs?: number;
  reason: string;
}

function lockOf(event: RecordedUserEvent): Lock | undefined {
  if (event.type !== "user.locked") return undefined;
  const { payload } = event;
  return {
    cause: PROTO_CAUSE[payload?.cause ?? "admin"] ?? 0,
    expiresMs: payload?.expiresAt === undefined ? undefined : new Date(payload.expiresAt).getTime(),
    reason: payload?.reason ?? "",
  };
}

/** The envelope's header: no flags, the message's length as a big-endian uint32. */
const ENVELOPE = 5;

// Binary. Every field number here is below 16, so a tag is one byte: number << 3 | wire type.
const VARINT = 0;
const LENGTH = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

/** Bytes of a varint of an integer; a negative one is written as its 64-bit two's complement (int64, int32). */
function varintSize(v: number): number {
  if (v < 0) return 10;
  let n = 1;
  for (; v >= 0x80; v = Math.floor(v / 0x80)) n++;
  return n;
}

class Writer {
  pos = ENVELOPE;
  readonly buf: Buffer;

  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(ENVELOPE + size);
    this.buf[0] = 0;
    this.buf.writeUInt32BE(size, 1);
  }

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(v: number): void {
    if (v < 0) {
      let b = BigInt.asUintN(64, BigInt(v));
      for (; b >= 0x80n; b >>= 7n) this.byte(Number(b & 0x7fn) | 0x80);
      this.byte(Number(b));
      return;
    }
    for (; v >= 0x80; v = Math.floor(v / 0x80)) this.byte((v % 0x80) | 0x80);
    this.byte(v);
  }

  varintField(field: number, v: number): void {
    if (v === 0) return;
    this.byte(tag(field, VARINT));
    this.varint(v);
  }

  string(field: number, s: string, bytes: number): void {
    if (s === "") return;
    this.head(field, bytes);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  head(field: number, size: number): void {
    this.byte(tag(field, LENGTH));
    this.varint(size);
  }

  timestamp(field: number, ms: number, size: number): void {
    this.head(field, size);
    const seconds = Math.floor(ms / 1000);
    this.varintField(1, seconds);
    this.varintField(2, (ms - seconds * 1000) * 1_000_000);
  }
}

/** A string field's bytes: tag, length and UTF-8; none for "". */
const stringSize = (s: string, bytes: number) => (s === "" ? 0 : 1 + varintSize(bytes) + bytes);
const varintFieldSize = (v: number) => (v === 0 ? 0 : 1 + varintSize(v));
const messageFieldSize = (size: number) => 1 + varintSize(size) + size;

/** A google.protobuf.Timestamp's bytes for a time in ms, as timestampFromDate makes it. */
function timestampSize(ms: number): number {
  const seconds = Math.floor(ms / 1000);
  return varintFieldSize(seconds) + varintFieldSize((ms - seconds * 1000) * 1_000_000);
}

function binaryFrame(e: RecordedUserEvent, orgId: string, position: string): Uint8Array {
  const lock = lockOf(e);
  const createdMs = e.createdAt.getTime();
  const created = timestampSize(createdMs);
  const expires = lock?.expiresMs === undefined ? 0 : timestampSize(lock.expiresMs);
  const bytes = {
    position: Buffer.byteLength(position),
    type: Buffer.byteLength(e.type),
    actor: Buffer.byteLength(e.actor),
    org: Buffer.byteLength(orgId),
    user: Buffer.byteLength(e.userId),
    reason: lock ? Buffer.byteLength(lock.reason) : 0,
  };
  const lockSize = lock ? varintFieldSize(lock.cause) + (lock.expiresMs === undefined ? 0 : messageFieldSize(expires)) + stringSize(lock.reason, bytes.reason) : 0;
  const eventSize =
    stringSize(e.type, bytes.type) +
    varintFieldSize(e.sequence) +
    messageFieldSize(created) +
    stringSize(e.actor, bytes.actor) +
    stringSize(orgId, bytes.org) +
    (lock ? messageFieldSize(lockSize) : 0) +
    stringSize(e.userId, bytes.user);

  const w = new Writer(stringSize(position, bytes.position) + messageFieldSize(eventSize));
  w.string(1, position, bytes.position);
  w.head(2, eventSize);
  w.string(1, e.type, bytes.type);
  w.varintField(2, e.sequence);
  w.timestamp(3, createdMs, created);
  w.string(4, e.actor, bytes.actor);
  w.string(5, orgId, bytes.org);
  if (lock) {
    w.head(6, lockSize);
    w.varintField(1, lock.cause);
    if (lock.expiresMs !== undefined) w.timestamp(2, lock.expiresMs, expires);
    w.string(3, lock.reason, bytes.reason);
  }
  w.string(7, e.userId, bytes.user);
  return w.buf;
}

// JSON: what toJson builds (fields in declaration order, defaults left out, 64-bit integers as
// strings, enums by name, timestamps in RFC 3339), written as JSON.stringify writes it.
const CAUSE_NAMES: Record<number, string> = { 1: "LOCK_CAUSE_ADMIN", 2: "LOCK_CAUSE_LOCKOUT_POLICY" };

/** Years 0001–9999 (protobuf's JSON range); the rest is refused by the reflective serializer. */
const MIN_MS = -62_135_596_800_000;
const MAX_MS = 253_402_300_799_999;

/** A time in RFC 3339 as protobuf's JSON writes a timestamp of whole milliseconds; undefined out of its range. */
function timestampJson(ms: number): string | undefined {
  if (!(ms >= MIN_MS && ms <= MAX_MS)) return undefined;
  const iso = new Date(ms).toISOString();
  return `"${ms % 1000 === 0 ? iso.replace(".000Z", "Z") : iso}"`;
}

/** `,"name":value`, or nothing for a field at its default. */
const member = (name: string, json: string | undefined) => (json === undefined ? "" : `,"${name}":${json}`);
const text = (s: string) => (s === "" ? undefined : JSON.stringify(s));

function jsonFrame(e: RecordedUserEvent, orgId: string, position: string): Uint8Array | undefined {
  const created = timestampJson(e.createdAt.getTime());
  if (created === undefined) return undefined;
  let lockJson = "";
  const lock = lockOf(e);
  if (lock) {
    const cause = CAUSE_NAMES[lock.cause];
    const expires = lock.expiresMs === undefined ? undefined : timestampJson(lock.expiresMs);
    if (lock.expiresMs !== undefined && expires === undefined) return undefined;
    lockJson = `{${(member("cause", cause && `"${cause}"`) + member("expiresAt", expires) + member("reason", text(lock.reason))).slice(1)}}`;
  }
  const event =
    member("type", text(e.type)) +
    member("sequence", e.sequence === 0 ? undefined : `"${e.sequence}"`) +
    member("creationDate", created) +
    member("actorId", text(e.actor)) +
    member("resourceOwner", text(orgId)) +
    member("lock", lock && lockJson) +
    member("userId", text(e.userId));
  const json = `{${(member("position", text(position)) + member("event", `{${event.slice(1)}}`)).slice(1)}}`;
  const size = Buffer.byteLength(json);
  const buf = Buffer.allocUnsafe(ENVELOPE + size);
  buf[0] = 0;
  buf.writeUInt32BE(size, 1);
  buf.write(json, ENVELOPE, "utf8");
  return buf;
}

/**
 * WatchUserEventsResponse's bytes without reflection: protobuf-es's toBinary and toJsonString walk
 * the schema field by field; for one lock event's message they took ~9 and ~6 µs of CPU on this
 * project's machine (best of eight runs of 100,000), these ~1.7 and ~3.7 µs. With one watcher
 * an event, each event is serialized for its one delivery (bench/FINDINGS.md, round
 * "2026-12-05, watchers at the maximum"). The bytes are those of toBinary and of toJsonString with
 * their default options (what the server writes with); test/watch-encoding.test.ts holds them
 * equal for every event type. What these do not cover (a timestamp JSON cannot carry, a lock
 * cause this build does not know) gets undefined: the reflective serializer then writes it, or
 * refuses it, as before.
 */
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { LockCause, type LockDetails, type UserEvent, type WatchUserEventsResponse } from "../../gen/zus/user/v1/user_record_service_pb.js";

/** The message in protobuf's binary format or in JSON (UTF-8); undefined where the reflective serializer must decide. */
export function encodeWatchResponse(message: WatchUserEventsResponse, binary: boolean): Uint8Array | undefined {
  return binary ? toBinary(message) : toJson(message);
}

// Binary. Every field number here is below 16, so a tag is one byte: number << 3 | wire type.
const VARINT = 0;
const LENGTH = 2;
const tag = (field: number, wireType: number) => (field << 3) | wireType;

/** Bytes of a varint of a value in [0, 2^64). */
function varintSize(v: number | bigint): number {
  let n = 1;
  if (typeof v === "number" && v < 2 ** 31) {
    for (; v >= 0x80; v >>>= 7) n++;
    return n;
  }
  for (let b = BigInt(v); b >= 0x80n; b >>= 7n) n++;
  return n;
}

/** int64 and int32 write a negative value as its 64-bit two's complement. */
const signed = (v: number | bigint) => (v >= 0 ? v : BigInt.asUintN(64, BigInt(v)));

class Writer {
  private pos = 0;
  constructor(readonly buf: Buffer) {}

  byte(b: number): void {
    this.buf[this.pos++] = b;
  }

  varint(v: number | bigint): void {
    if (typeof v === "number" && v < 2 ** 31) {
      for (; v >= 0x80; v >>>= 7) this.byte((v & 0x7f) | 0x80);
      this.byte(v);
      return;
    }
    let b = BigInt(v);
    for (; b >= 0x80n; b >>= 7n) this.byte(Number(b & 0x7fn) | 0x80);
    this.byte(Number(b));
  }

  string(field: number, s: string, bytes: number): void {
    if (s === "") return;
    this.byte(tag(field, LENGTH));
    this.varint(bytes);
    this.pos += this.buf.write(s, this.pos, "utf8");
  }

  head(field: number, size: number): void {
    this.byte(tag(field, LENGTH));
    this.varint(size);
  }
}

/** A string field's bytes: tag, length and UTF-8; none for "". */
const stringSize = (s: string, bytes: number) => (s === "" ? 0 : 1 + varintSize(bytes) + bytes);
const varintFieldSize = (v: number | bigint) => (v === 0 || v === 0n ? 0 : 1 + varintSize(signed(v)));
const messageFieldSize = (size: number) => 1 + varintSize(size) + size;
const timestampSize = (t: Timestamp) => varintFieldSize(t.seconds) + varintFieldSize(t.nanos);

function writeTimestamp(w: Writer, field: number, t: Timestamp): void {
  w.head(field, timestampSize(t));
  if (t.seconds !== 0n) {
    w.byte(tag(1, VARINT));
    w.varint(signed(t.seconds));
  }
  if (t.nanos !== 0) {
    w.byte(tag(2, VARINT));
    w.varint(signed(t.nanos));
  }
}

function toBinary(message: WatchUserEventsResponse): Uint8Array {
  const positionBytes = Buffer.byteLength(message.position);
  let size = stringSize(message.position, positionBytes);
  const { kind } = message;
  if (kind.case === "heartbeat") size += messageFieldSize(0);
  let event: EventSizes | undefined;
  if (kind.case === "event") {
    event = eventSizes(kind.value);
    size += messageFieldSize(event.size);
  }
  const w = new Writer(Buffer.allocUnsafe(size));
  w.string(1, message.position, positionBytes);
  if (kind.case === "event") writeEvent(w, kind.value, event!);
  if (kind.case === "heartbeat") w.head(3, 0);
  return w.buf;
}

interface EventSizes {
  size: number;
  type: number;
  actorId: number;
  resourceOwner: number;
  userId: number;
  reason: number;
  lock: number;
}

function eventSizes(e: UserEvent): EventSizes {
  const s = {
    size: 0,
    type: Buffer.byteLength(e.type),
    actorId: Buffer.byteLength(e.actorId),
    resourceOwner: Buffer.byteLength(e.resourceOwner),
    userId: Buffer.byteLength(e.userId),
    reason: e.lock ? Buffer.byteLength(e.lock.reason) : 0,
    lock: 0,
  };
  if (e.lock) s.lock = varintFieldSize(e.lock.cause) + (e.lock.expiresAt ? messageFieldSize(timestampSize(e.lock.expiresAt)) : 0) + stringSize(e.lock.reason, s.reason);
  s.size =
    stringSize(e.type, s.type) +
    varintFieldSize(e.sequence) +
    (e.creationDate ? messageFieldSize(timestampSize(e.creationDate)) : 0) +
    stringSize(e.actorId, s.actorId) +
    stringSize(e.resourceOwner, s.resourceOwner) +
    (e.lock ? messageFieldSize(s.lock) : 0) +
    stringSize(e.userId, s.userId);
  return s;
}

function writeEvent(w: Writer, e: UserEvent, s: EventSizes): void {
  w.head(2, s.size);
  w.string(1, e.type, s.type);
  if (e.sequence !== 0n) {
    w.byte(tag(2, VARINT));
    w.varint(e.sequence);
  }
  if (e.creationDate) writeTimestamp(w, 3, e.creationDate);
  w.string(4, e.actorId, s.actorId);
  w.string(5, e.resourceOwner, s.resourceOwner);
  if (e.lock) writeLock(w, e.lock, s);
  w.string(7, e.userId, s.userId);
}

function writeLock(w: Writer, lock: LockDetails, s: EventSizes): void {
  w.head(6, s.lock);
  if (lock.cause !== 0) {
    w.byte(tag(1, VARINT));
    w.varint(signed(lock.cause));
  }
  if (lock.expiresAt) writeTimestamp(w, 2, lock.expiresAt);
  w.string(3, lock.reason, s.reason);
}

// JSON: the object toJson builds (fields in declaration order, defaults left out, 64-bit
// integers as strings, enums by name, timestamps in RFC 3339), then JSON.stringify, as toJsonString.
const CAUSE_NAMES: Record<number, string> = { [LockCause.ADMIN]: "LOCK_CAUSE_ADMIN", [LockCause.LOCKOUT_POLICY]: "LOCK_CAUSE_LOCKOUT_POLICY" };

/** Thrown inside toJson for what the reflective serializer must decide. */
const NOT_COVERED = Symbol("not covered");

function toJson(message: WatchUserEventsResponse): Uint8Array | undefined {
  const json: Record<string, unknown> = {};
  if (message.position !== "") json.position = message.position;
  const { kind } = message;
  try {
    if (kind.case === "event") json.event = eventJson(kind.value);
  } catch (err) {
    if (err === NOT_COVERED) return undefined;
    throw err;
  }
  if (kind.case === "heartbeat") json.heartbeat = {};
  return Buffer.from(JSON.stringify(json));
}

function eventJson(e: UserEvent): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (e.type !== "") json.type = e.type;
  if (e.sequence !== 0n) json.sequence = e.sequence.toString();
  if (e.creationDate) json.creationDate = timestampJson(e.creationDate);
  if (e.actorId !== "") json.actorId = e.actorId;
  if (e.resourceOwner !== "") json.resourceOwner = e.resourceOwner;
  if (e.lock) json.lock = lockJson(e.lock);
  if (e.userId !== "") json.userId = e.userId;
  return json;
}

function lockJson(lock: LockDetails): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  if (lock.cause !== 0) {
    const name = CAUSE_NAMES[lock.cause];
    if (name === undefined) throw NOT_COVERED;
    json.cause = name;
  }
  if (lock.expiresAt) json.expiresAt = timestampJson(lock.expiresAt);
  if (lock.reason !== "") json.reason = lock.reason;
  return json;
}

/** Years 0001–9999 (protobuf's JSON range); the rest is refused by the reflective serializer. */
const MIN_SECONDS = -62135596800n;
const MAX_SECONDS = 253402300799n;

function timestampJson(t: Timestamp): string {
  if (t.seconds < MIN_SECONDS || t.seconds > MAX_SECONDS || t.nanos < 0 || t.nanos > 999_999_999) throw NOT_COVERED;
  const iso = new Date(Number(t.seconds) * 1000).toISOString();
  if (t.nanos === 0) return iso.replace(".000Z", "Z");
  // Nine digits, or six or three where the rest are zeros, as protobuf's JSON writes them.
  const digits = String(t.nanos + 1_000_000_000).slice(1);
  const fraction = digits.endsWith("000000") ? digits.slice(0, 3) : digits.endsWith("000") ? digits.slice(0, 6) : digits;
  return iso.replace(".000Z", `.${fraction}Z`);
}

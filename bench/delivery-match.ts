/**
 * What the receivers of the delivery scenario got, set against the lock/unlock calls the server
 * acknowledged (bench/load-grpc.ts with `record`): what each call owes each receiver, what arrived,
 * lost, repeated, unasked for or out of a user's order, and how long after the call each arrived.
 *
 * A call owes the Actions target one event, named by user and sequence as its body names it; and
 * each stream its SETs, named by `jti`, which the transmitter derives from the stream, the user
 * event and the SET's type (src/app/ssf/sets.ts): a lock causes account-disabled and
 * session-revoked, an unlock account-enabled.
 */
import { readFileSync } from "node:fs";
import { derivedId } from "../src/security/ids.js";
import type { Kind } from "./delivery-kinds.js";
import type { Wiring } from "./delivery-wiring.js";
import type { UserIds } from "./ids.js";

const DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
const ENABLED = "https://schemas.openid.net/secevent/risc/event-type/account-enabled";
const REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/** One acknowledged call, and the run it belongs to. */
export interface Call {
  user: string;
  unlock: boolean;
  sequence: number;
  sentAt: number;
  answeredAt: number;
  run: string;
}

/** bench/load-grpc.ts's recorded quintuples (user index, 1 for an unlock, sequence, sent, answered) as calls of `run`. */
export function callsOf(recorded: number[], ids: UserIds, run: string): Call[] {
  const calls: Call[] = [];
  for (let i = 0; i < recorded.length; i += 5) {
    calls.push({ user: ids.at(recorded[i]!), unlock: recorded[i + 1] === 1, sequence: recorded[i + 2]!, sentAt: recorded[i + 3]!, answeredAt: recorded[i + 4]!, run });
  }
  return calls;
}

/** What the calls owe each receiver: receipt key → call. */
export function owed(calls: readonly Call[], wiring: Wiring, kinds: readonly Kind[]): Map<Kind, Map<string, Call>> {
  const out = new Map<Kind, Map<string, Call>>(kinds.map((k) => [k, new Map()]));
  for (const call of calls) {
    const types = call.unlock ? [ENABLED] : [DISABLED, REVOKED];
    for (const kind of kinds) {
      const keys = out.get(kind)!;
      if (kind === "actions") keys.set(`${call.user}:${call.sequence}`, call);
      else for (const type of types) keys.set(derivedId("jti", wiring[kind].streamId, call.user, call.sequence, type), call);
    }
  }
  return out;
}

export interface Receipt {
  kind: Kind;
  key: string;
  at: number;
}

/** bench/delivery-receivers.ts's dump. */
export function readReceipts(file: string): Receipt[] {
  const text = readFileSync(file, "utf8");
  return text
    .split("\n")
    .filter(Boolean)
    .map((line) => {
      const [kind, key, at] = line.split(" ");
      return { kind: kind as Kind, key: key!, at: Number(at) };
    });
}

export interface KindMatch {
  owed: number;
  received: number;
  lost: number;
  repeated: number;
  /** Receipts no call owed (e.g. of a call that was not acknowledged). */
  unexpected: number;
  /** Receipts of a user whose sequence is below one received before (per receiver). */
  outOfOrder: number;
  /** Per run: each first receipt's delay from the call's answer, and from its sending, ms; and its arrival, ms since the epoch. */
  fromAnswer: Record<string, number[]>;
  fromSent: Record<string, number[]>;
  arrivals: Record<string, number[]>;
}

export function match(receipts: readonly Receipt[], owedByKind: Map<Kind, Map<string, Call>>): Map<Kind, KindMatch> {
  const out = new Map<Kind, KindMatch>();
  for (const [kind, keys] of owedByKind) {
    const m: KindMatch = { owed: keys.size, received: 0, lost: 0, repeated: 0, unexpected: 0, outOfOrder: 0, fromAnswer: {}, fromSent: {}, arrivals: {} };
    const seen = new Set<string>();
    const lastSequence = new Map<string, number>();
    for (const r of receipts) {
      if (r.kind !== kind) continue;
      const call = keys.get(r.key);
      if (!call) {
        m.unexpected++;
        continue;
      }
      if (seen.has(r.key)) {
        m.repeated++;
        continue;
      }
      seen.add(r.key);
      m.received++;
      if ((lastSequence.get(call.user) ?? -1) > call.sequence) m.outOfOrder++;
      lastSequence.set(call.user, Math.max(lastSequence.get(call.user) ?? -1, call.sequence));
      (m.fromAnswer[call.run] ??= []).push(r.at - call.answeredAt);
      (m.fromSent[call.run] ??= []).push(r.at - call.sentAt);
      (m.arrivals[call.run] ??= []).push(r.at);
    }
    m.lost = m.owed - m.received;
    out.set(kind, m);
  }
  return out;
}

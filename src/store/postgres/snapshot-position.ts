/**
 * Positions in PostgreSQL's event log. A row id is taken before its transaction commits, so ids
 * do not follow commit order (DESIGN.md, Storage); what does is which transactions have
 * committed. A position is therefore a snapshot (PostgreSQL's own xmin:xmax:xip form): it covers
 * the events of the transactions visible in it. Logs are read only below the oldest running
 * transaction, where nothing can commit any more, in (transaction, id) order; a read that stops
 * inside a transaction's events also records how far it got (`partial`).
 */
import type { EventMark, EventPosition } from "../event-log.js";

export interface Snapshot {
  xmin: bigint;
  xmax: bigint;
  /** Transactions between xmin and xmax that were running: not visible. Ascending. */
  xip: bigint[];
}

export interface SnapshotPosition {
  snapshot: Snapshot;
  /** The events of transaction `tx` up to row `id` are covered too. */
  partial?: { tx: bigint; id: number };
}

export interface TxMark {
  tx: bigint;
  id: number;
}

export const asPosition = (p: SnapshotPosition) => p as unknown as EventPosition;
export const fromPosition = (p: EventPosition) => p as unknown as SnapshotPosition;
export const asMark = (m: TxMark) => m as unknown as EventMark;
export const fromMark = (m: EventMark) => m as unknown as TxMark;

/** Whether transaction `x` had committed (or ended) in the snapshot. */
export function visible(x: bigint, s: Snapshot): boolean {
  if (x < s.xmin) return true;
  if (x >= s.xmax) return false;
  return !s.xip.includes(x);
}

/** Every transaction below `horizon` (all of which have ended). */
export const below = (horizon: bigint): Snapshot => ({ xmin: horizon, xmax: horizon, xip: [] });

/** The snapshot in which what is visible in either is visible. */
export function union(a: Snapshot, b: Snapshot): Snapshot {
  const xmax = a.xmax > b.xmax ? a.xmax : b.xmax;
  const xip = [...new Set([...a.xip, ...b.xip])].filter((x) => !visible(x, a) && !visible(x, b)).sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
  return { xmin: xip[0] ?? xmax, xmax, xip };
}

export function covers(p: SnapshotPosition, m: TxMark): boolean {
  return visible(m.tx, p.snapshot) || (p.partial !== undefined && p.partial.tx === m.tx && m.id <= p.partial.id);
}

export function merge(a: SnapshotPosition, b: SnapshotPosition): SnapshotPosition {
  const snapshot = union(a.snapshot, b.snapshot);
  // A partial read of a transaction the union covers entirely is no longer needed. Two partial
  // reads of different transactions cannot both be kept; a watcher's reads never produce that.
  const open = [a.partial, b.partial].filter((p) => p !== undefined && !visible(p.tx, snapshot));
  const partial = open.reduce<SnapshotPosition["partial"]>((kept, p) => (kept && kept.tx === p!.tx && kept.id > p!.id ? kept : p), undefined);
  return partial ? { snapshot, partial } : { snapshot };
}

/**
 * Whether `a` covers every event `b` covers. What `a` does not show is its running transactions
 * and everything from its xmax on: none of that may be shown by `b`, nor read further by it.
 */
export function includes(a: SnapshotPosition, b: SnapshotPosition): boolean {
  const hidden = (x: bigint) => visible(x, b.snapshot) && !visible(x, a.snapshot);
  if (a.snapshot.xip.some(hidden)) return false;
  // Every transaction of [a.xmax, b.xmax) must be one b shows running.
  if (b.snapshot.xmax > a.snapshot.xmax) {
    if (a.snapshot.xmax < b.snapshot.xmin) return false;
    const runningAbove = b.snapshot.xip.filter((x) => x >= a.snapshot.xmax).length;
    if (BigInt(runningAbove) !== b.snapshot.xmax - a.snapshot.xmax) return false;
  }
  const partial = b.partial;
  return partial === undefined || covers(a, partial);
}

const XID = /^[0-9]{1,19}$/;
const MAX_XIP = 100_000;

/** PostgreSQL's text form of a pg_snapshot, checked (undefined if it is not one). */
export function parseSnapshot(text: string): Snapshot | undefined {
  const [xminText, xmaxText, xipText, ...rest] = text.split(":");
  if (rest.length || xipText === undefined || !XID.test(xminText!) || !XID.test(xmaxText!)) return undefined;
  const xip = xipText === "" ? [] : xipText.split(",");
  if (xip.length > MAX_XIP || !xip.every((x) => XID.test(x))) return undefined;
  const snapshot = { xmin: BigInt(xminText!), xmax: BigInt(xmaxText!), xip: xip.map(BigInt) };
  const ordered = snapshot.xip.every((x, i) => x >= snapshot.xmin && x < snapshot.xmax && (i === 0 || x > snapshot.xip[i - 1]!));
  return ordered && snapshot.xmin <= snapshot.xmax ? snapshot : undefined;
}

export const snapshotText = (s: Snapshot) => `${s.xmin}:${s.xmax}:${s.xip.join(",")}`;

/** `xmin:xmax:xip` followed, for a partial read, by `;tx.id`. */
export function parseSnapshotPosition(text: string): SnapshotPosition | undefined {
  const [snapshotPart, partialPart, ...rest] = text.split(";");
  const snapshot = parseSnapshot(snapshotPart!);
  if (!snapshot || rest.length) return undefined;
  if (partialPart === undefined) return { snapshot };
  const match = /^([0-9]{1,19})\.([0-9]{1,15})$/.exec(partialPart);
  if (!match) return undefined;
  const partial = { tx: BigInt(match[1]!), id: Number(match[2]) };
  return visible(partial.tx, snapshot) ? undefined : { snapshot, partial };
}

export const snapshotPositionText = (p: SnapshotPosition) => snapshotText(p.snapshot) + (p.partial ? `;${p.partial.tx}.${p.partial.id}` : "");

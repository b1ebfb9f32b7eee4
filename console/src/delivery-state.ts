/**
 * What the deliveries screen shows of a destination's state (zus.delivery.v1.Destination): how
 * many deliveries wait and how many are parked, how long the oldest has waited, the last error.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Destination } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { h } from "./dom.js";
import { formatTime } from "./user-fields.js";

export const STATE_COLUMNS = ["Waiting", "Parked", "Oldest waiting", "Last error"];

const UNITS: [Intl.RelativeTimeFormatUnit, number][] = [
  ["day", 86_400_000],
  ["hour", 3_600_000],
  ["minute", 60_000],
  ["second", 1000],
];
const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "always", style: "short" });

/** "3 min. ago": in the largest unit that is at least one, as a receiver that is down counts in minutes or days. */
function ageOf(since: Date, now: Date): string {
  const ms = Math.max(0, now.getTime() - since.getTime());
  const [unit, size] = UNITS.find(([, size]) => ms >= size) ?? UNITS.at(-1)!;
  return RELATIVE.format(-Math.floor(ms / size), unit);
}

/** The state's cells, in STATE_COLUMNS' order; a destination with nothing left has no state (all zero). */
export function stateCells(state: Destination | undefined, now: Date): HTMLTableCellElement[] {
  const oldest = state?.oldestWaitingDate;
  const age = oldest
    ? h("time", { dateTime: timestampDate(oldest).toISOString(), title: formatTime(oldest) }, ageOf(timestampDate(oldest), now))
    : "";
  const parked = Number(state?.parked ?? 0n);
  return [
    h("td", { className: "count" }, String(state?.waiting ?? 0n)),
    h("td", { className: parked > 0 ? "count parked" : "count" }, String(parked)),
    h("td", {}, age),
    h("td", { className: "last-error" }, state?.lastError ?? ""),
  ];
}

/** "1 delivery", "3 deliveries". */
export const countDeliveries = (count: number | bigint): string => `${count} ${count === 1 || count === 1n ? "delivery" : "deliveries"}`;

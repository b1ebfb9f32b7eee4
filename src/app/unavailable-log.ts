/**
 * The errors of the work a server does in the background (deliveries, the lock sweep, the watch
 * hub's reads, the delivery routes' refresh) as they go to the log. While the database is away
 * each of these loops fails several times a second, and each failure was an "internal error"
 * line (two servers wrote about 45 in a 3 s outage, drill/ground-postgres.ts). A database that is unavailable is now one
 * warning per spell (failures less than SPELL_GAP_MS apart); any other error is logged as before.
 */
import { isUnavailable } from "../domain/errors.js";
import type { Logger } from "../observability/logger.js";

/** Unavailable failures closer together than this belong to one spell. */
const SPELL_GAP_MS = 10_000;

export function backgroundErrorLog(logger: Logger, other: (err: unknown) => void): (err: unknown) => void {
  let lastAt = -Infinity;
  return (err) => {
    if (!isUnavailable(err)) return other(err);
    const now = Date.now();
    if (now - lastAt > SPELL_GAP_MS) logger.warn("the database is unavailable; deliveries, the lock sweep and watch reads try again until it is back");
    lastAt = now;
  };
}

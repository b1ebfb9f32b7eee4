/**
 * Live updates: an open page follows zus.user.v1 WatchUserEvents and hears of each event as it
 * commits. A stream that ends (the server restarting, a watcher that fell behind, a network
 * failure) is resumed from the last position received, after a growing pause. A server without
 * the watch (Unimplemented), or a refusal that would only repeat (a bad token, a filter the
 * caller may not use), ends following quietly: the page then works as without live updates.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { WatchEndedSchema, type UserEvent } from "../../gen/zus/user/v1/user_record_service_pb.js";
import type { RecordClient } from "./api.js";

const FIRST_PAUSE_MS = 500;
const LONGEST_PAUSE_MS = 30_000;
const FINAL = new Set([Code.Unimplemented, Code.Unauthenticated, Code.PermissionDenied, Code.InvalidArgument, Code.NotFound, Code.FailedPrecondition]);

export interface WatchFilter {
  userId?: string;
  organizationId?: string;
  types?: string[];
}

/** Follows the filtered events from `position` (empty: from now) until the returned function is called. */
export function follow(watch: RecordClient, filter: WatchFilter, position: string, onEvent: (event: UserEvent) => void): () => void {
  const stop = new AbortController();
  const { signal } = stop;
  void (async () => {
    let pause = FIRST_PAUSE_MS;
    while (!signal.aborted) {
      try {
        for await (const message of watch.watchUserEvents({ ...filter, position }, { signal })) {
          position = message.position || position;
          pause = FIRST_PAUSE_MS;
          if (message.kind.case === "event") onEvent(message.kind.value);
        }
      } catch (err) {
        if (signal.aborted) return;
        const error = ConnectError.from(err);
        if (FINAL.has(error.code)) return;
        position = error.findDetails(WatchEndedSchema)[0]?.position || position;
      }
      // Jittered, so that the pages of many administrators do not all come back at the same moment.
      await sleep(pause * (0.5 + Math.random() / 2), signal);
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  })();
  return () => stop.abort();
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });

/**
 * Runs `task` now, or, if it is running, once more when it is done: a burst of events causes at
 * most two reloads, and the last one reads everything the burst changed.
 */
export function coalesced(task: () => Promise<void>): () => void {
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = task()
      .catch(() => undefined)
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  return run;
}

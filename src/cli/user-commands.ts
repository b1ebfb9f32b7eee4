/**
 * `user lock|unlock|history`, `events watch` and `deliveries`: clients of the running server's API,
 * never of its database (a server caches users and tokens, so a write behind its back would go unseen).
 */
import { ConnectError } from "@connectrpc/connect";
import type { Details } from "../../gen/zitadel/object/v2/object_pb.js";
import { WatchEndedSchema, type BulkChangeUsersResponse } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { answerLine, apiClients, CliFailure, errorLine, isUnreachable, resolveToken, type ApiClients } from "./api-client.js";
import type { ApiCommand } from "./commands.js";
import { runDeliveryCommand } from "./delivery-commands.js";
import { eventLine } from "./event-line.js";

const print = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

/** Events per history call: a few calls for a long history, none of them a long one for the server. */
const HISTORY_PAGE_SIZE = 200;

/** Runs the command and returns the exit code: 0 if everything succeeded, else 1. */
export async function runApiCommand(command: ApiCommand): Promise<number> {
  const { records, users, deliveries } = apiClients(command.server, resolveToken());
  switch (command.kind) {
    case "lock": {
      const end = command.forSeconds === undefined ? {} : { end: { case: "duration" as const, value: { seconds: BigInt(command.forSeconds) } } };
      return changeUsers(command, "locked", {
        one: async (userId) => (await records.lockUser({ userId, reason: command.reason, ...end })).details,
        many: (userIds) => records.bulkLockUsers({ userIds, reason: command.reason, ...end }),
      });
    }
    case "unlock":
      return changeUsers(command, "unlocked", {
        one: async (userId) => (await users.unlockUser({ userId })).details,
        many: (userIds) => records.bulkUnlockUsers({ userIds }),
      });
    case "history":
      return history(records, command);
    case "watch":
      return watch(records, command);
    case "destinations":
    case "parked":
    case "retry":
      return runDeliveryCommand(deliveries, command);
  }
}

/** The most ids one bulk call takes. */
const BULK_MAX_IDS = 1000;

/**
 * One line per user, in the order given (an id given twice counts once): `ID locked (sequence N)`,
 * or the server's answer for that user; exit code 1 if any failed. One user is one single call, more
 * go in bulk calls of up to 1000, where each user is still changed, or refused, on its own. A call
 * that fails as a whole (no server, a bad reason for a bulk) fails the command.
 */
async function changeUsers(
  command: { server: URL; userIds: string[] },
  done: string,
  calls: { one: (userId: string) => Promise<Details | undefined>; many: (userIds: string[]) => Promise<BulkChangeUsersResponse> },
): Promise<number> {
  const userIds = [...new Set(command.userIds)];
  let failed = false;
  const report = (userId: string, outcome: Outcome) => {
    if ("error" in outcome) failed = true;
    print("error" in outcome ? `${userId}: ${outcome.error}` : `${userId} ${done} (sequence ${outcome.sequence})`);
  };
  try {
    if (userIds.length === 1) {
      const [userId] = userIds as [string];
      report(userId, await singleOutcome(() => calls.one(userId), command.server));
    } else {
      for (let start = 0; start < userIds.length; start += BULK_MAX_IDS) {
        const { results } = await calls.many(userIds.slice(start, start + BULK_MAX_IDS));
        for (const { userId, outcome } of results) {
          report(userId, outcome.case === "error" ? { error: answerLine(outcome.value.code, outcome.value.id, outcome.value.message) } : { sequence: outcome.value?.sequence });
        }
      }
    }
  } catch (err) {
    throw new CliFailure(errorLine(err, command.server));
  }
  return failed ? 1 : 0;
}

type Outcome = { sequence?: bigint } | { error: string };

/** A single call's answer about its user; no answer at all (an unreachable server) is thrown on. */
async function singleOutcome(call: () => Promise<Details | undefined>, server: URL): Promise<Outcome> {
  try {
    return { sequence: (await call())?.sequence };
  } catch (err) {
    if (isUnreachable(err)) throw err;
    return { error: errorLine(err, server) };
  }
}

/** Every page, newest event first; then, on stderr, the position a watch continues from. */
async function history(records: ApiClients["records"], command: Extract<ApiCommand, { kind: "history" }>): Promise<number> {
  let pageToken = "";
  let position = "";
  try {
    do {
      const page = await records.listUserEvents({ userId: command.userId, pageSize: HISTORY_PAGE_SIZE, pageToken });
      // The first page's position is the one that misses nothing committed after the history was read.
      if (pageToken === "") position = page.position;
      for (const event of page.events) print(eventLine(event));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
  } catch (err) {
    warn(`error: ${errorLine(err, command.server)}`);
    return 1;
  }
  if (position) warn(`events watch --from ${position} continues after these events`);
  return 0;
}

/**
 * Prints each event as it arrives until Ctrl-C (SIGINT) or SIGTERM, which end the stream and exit 0;
 * then, on stderr, the position to resume from. A stream the server ends exits 1, with the position too.
 */
async function watch(records: ApiClients["records"], command: Extract<ApiCommand, { kind: "watch" }>): Promise<number> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const request = { organizationId: command.orgId, userId: command.userId, types: command.types, position: command.from };
  let position = command.from;
  let code = 1;
  try {
    for await (const message of records.watchUserEvents(request, { signal: stopped.signal })) {
      // Heartbeats are not printed, but their position is the latest to resume from.
      position = message.position || position;
      const { kind } = message;
      // A watch may follow many users: each line says whose event it is.
      if (kind.case === "event") print(`${eventLine(kind.value)}  user=${kind.value.userId} org=${kind.value.resourceOwner}`);
    }
    warn("error: the server ended the watch");
  } catch (err) {
    if (stopped.signal.aborted) {
      code = 0;
    } else {
      warn(`error: ${errorLine(err, command.server)}`);
      // A watch the server ends early (too slow a reader, shutdown) says where it stopped.
      const [ended] = ConnectError.from(err).findDetails(WatchEndedSchema);
      position = ended?.position || position;
    }
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  }
  warn(position ? `resume with --from ${position}` : "no position received yet: nothing to resume from");
  return code;
}

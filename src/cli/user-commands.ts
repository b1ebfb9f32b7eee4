/**
 * `user lock|unlock|history` and `events watch`: clients of the running server's API, never of its
 * database (a server caches users and tokens, so a write behind its back would go unseen).
 */
import { ConnectError } from "@connectrpc/connect";
import type { Details } from "../../gen/zitadel/object/v2/object_pb.js";
import { WatchEndedSchema } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { apiClients, CliFailure, errorLine, isUnreachable, resolveToken, type ApiClients } from "./api-client.js";
import type { ApiCommand } from "./commands.js";
import { eventLine } from "./event-line.js";

const print = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

/** Events per history call: a few calls for a long history, none of them a long one for the server. */
const HISTORY_PAGE_SIZE = 200;

/** Runs the command and returns the exit code: 0 if everything succeeded, else 1. */
export async function runApiCommand(command: ApiCommand): Promise<number> {
  const clients = apiClients(command.server, resolveToken());
  switch (command.kind) {
    case "lock": {
      const end = command.forSeconds === undefined ? undefined : { case: "duration" as const, value: { seconds: BigInt(command.forSeconds) } };
      const request = (userId: string) => ({ userId, reason: command.reason, ...(end && { end }) });
      return changeEach(command, "locked", async (userId) => (await clients.records.lockUser(request(userId))).details);
    }
    case "unlock":
      return changeEach(command, "unlocked", async (userId) => (await clients.users.unlockUser({ userId })).details);
    case "history":
      return history(clients, command);
    case "watch":
      return watch(clients, command);
  }
}

/**
 * One call per user, in the order given, one line each: `ID locked (sequence N)`, or the server's
 * answer for that user. Each user's change is independent, so one failure does not stop the rest;
 * a server that cannot be reached fails the whole command.
 */
async function changeEach(
  command: { server: URL; userIds: string[] },
  done: string,
  change: (userId: string) => Promise<Details | undefined>,
): Promise<number> {
  let failed = false;
  for (const userId of command.userIds) {
    try {
      const details = await change(userId);
      print(`${userId} ${done} (sequence ${details?.sequence})`);
    } catch (err) {
      if (isUnreachable(err)) throw new CliFailure(errorLine(err, command.server));
      print(`${userId}: ${errorLine(err, command.server)}`);
      failed = true;
    }
  }
  return failed ? 1 : 0;
}

/** Every page, newest event first; then, on stderr, the position a watch continues from. */
async function history(clients: ApiClients, command: Extract<ApiCommand, { kind: "history" }>): Promise<number> {
  let pageToken = "";
  let position = "";
  try {
    do {
      const page = await clients.records.listUserEvents({ userId: command.userId, pageSize: HISTORY_PAGE_SIZE, pageToken });
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
async function watch(clients: ApiClients, command: Extract<ApiCommand, { kind: "watch" }>): Promise<number> {
  const stopped = new AbortController();
  const stop = () => stopped.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  const request = { organizationId: command.orgId, userId: command.userId, types: command.types, position: command.from };
  let position = command.from;
  let code = 1;
  try {
    for await (const message of clients.records.watchUserEvents(request, { signal: stopped.signal })) {
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

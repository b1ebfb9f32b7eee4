/**
 * The PostgreSQL drill's load: one LockUser/UnlockUser loop per user that carries on through the
 * outage. A call the server acknowledged is kept (it must be in the event log afterwards); a call
 * answered Unavailable may or may not have committed, so the loop reads the user again before its
 * next change. Any other failure is a violation, and so is an Unavailable whose message shows SQL.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError } from "@connectrpc/connect";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient, type Protocol } from "../test/support/clients.js";

const CALL_TIMEOUT_MS = 10_000;
/** Between a failed call and the next try: the load should not spin while the database is away. */
const AFTER_FAILURE_MS = 50;
/**
 * Between a user's calls: the deliveries of one user go one at a time (dispatcher.ts), from a
 * courier of low CPU priority, so a loop without a pause outruns them on a busy machine and the
 * drill would mostly measure their backlog draining after the load.
 */
const BETWEEN_CALLS_MS = 25;

/** What SQL or a driver's internals look like in a message meant for a client. */
export const LEAKS_SQL = /\b(select|insert|update|delete)\b|\bwhere\b|\bfrom\b.*\bwhere\b|pg_|\$\d|relation "|duplicate key|violates/i;

export interface Acknowledged {
  userId: string;
  sequence: number;
  type: "user.locked" | "user.unlocked";
  at: number;
}

export interface LoadFigures {
  /** Calls answered Unavailable, and when the first and last of them came. */
  unavailable: { count: number; first?: number; last?: number };
}

export interface GapLoad {
  readonly acknowledged: Acknowledged[];
  readonly figures: LoadFigures;
  halt(): Promise<void>;
}

export function startGapLoad(users: readonly { id: string; protocol: Protocol }[], server: { baseUrl: string; adminToken: string }, violations: string[]): GapLoad {
  const acknowledged: Acknowledged[] = [];
  const figures: LoadFigures = { unavailable: { count: 0 } };
  let halted = false;

  const failed = (userId: string, what: string, err: unknown) => {
    const error = ConnectError.from(err);
    if (error.code !== Code.Unavailable) {
      violations.push(`${userId}: ${what} failed with ${Code[error.code]}: ${error.rawMessage}`);
      return;
    }
    if (LEAKS_SQL.test(error.rawMessage)) violations.push(`${userId}: ${what} answered Unavailable with SQL in its message: ${error.rawMessage}`);
    const now = Date.now();
    figures.unavailable.count++;
    figures.unavailable.first ??= now;
    figures.unavailable.last = now;
  };

  const loop = async ({ id, protocol }: { id: string; protocol: Protocol }) => {
    const client = userClient(protocol, server.baseUrl, server.adminToken);
    let locked: boolean | undefined = false;
    while (!halted) {
      try {
        // After an Unavailable the change may have committed: the user as it is now decides the next one.
        locked ??= (await client.getUserByID({ userId: id }, { timeoutMs: CALL_TIMEOUT_MS })).user?.state === UserState.LOCKED;
        const type = locked ? "user.unlocked" : "user.locked";
        const call = locked ? client.unlockUser : client.lockUser;
        const answer = await call({ userId: id }, { timeoutMs: CALL_TIMEOUT_MS });
        acknowledged.push({ userId: id, sequence: Number(answer.details?.sequence), type, at: Date.now() });
        locked = !locked;
        await sleep(BETWEEN_CALLS_MS);
      } catch (err) {
        failed(id, locked === undefined ? "GetUserByID" : locked ? "UnlockUser" : "LockUser", err);
        locked = undefined;
        await sleep(AFTER_FAILURE_MS);
      }
    }
  };

  const done = Promise.all(users.map(loop));
  return {
    acknowledged,
    figures,
    async halt() {
      halted = true;
      await done;
    },
  };
}

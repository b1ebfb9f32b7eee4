/**
 * The drill's load: one LockUser/UnlockUser loop per user with one call in flight at a time, so
 * each user's outcome is decidable, and the client-side log of what the server acknowledged.
 */
import { userClient, type Protocol, type UserClient } from "../test/support/clients.js";

export type ChangeType = "user.locked" | "user.unlocked";

export interface Change {
  type: ChangeType;
  sequence: number;
  /** An acknowledged response, or an in-flight call that the database showed committed after the crash. */
  acknowledged: boolean;
}

/** One user of the drill, as the client knows it. */
export interface DrillUser {
  id: string;
  protocol: Protocol;
  /** The client-side log: every change known to be committed, after the "added" event (sequence 1). */
  changes: Change[];
  /** The user's state as the database last showed it (or as acknowledged since). */
  locked: boolean;
  sequence: number;
  /** The call sent whose answer never came (cut by the kill); decided by the next check. */
  inFlight?: Change;
}

const CALL_TIMEOUT_MS = 10_000;

export interface RunningLoad {
  /** No new calls from now on; the calls in flight stay in flight until the server dies. */
  halt(): void;
  /** Every loop has ended (after halt, once the server is gone). */
  done: Promise<void>;
}

export interface LoadOptions {
  /**
   * A failure the drill expects (a full disk's Unavailable): the loop counts on it having written
   * nothing, waits `pauseMs` and tries the same change again, where any other failure ends it.
   */
  expected?: (err: unknown) => boolean;
  pauseMs?: number;
  /**
   * A failure that leaves the change's outcome unknown without being wrong (its deadline passed
   * on a server too busy to answer in time): the loop ends with the call in flight, for the check
   * after the run to decide, where any other failure is a violation.
   */
  unknown?: (err: unknown) => boolean;
}

export function startLoad(
  users: DrillUser[],
  server: { baseUrl: string; adminToken: string },
  violations: string[],
  options: LoadOptions = {},
): RunningLoad {
  let halted = false;
  // One client per protocol, shared by the users on it.
  const clients = new Map<Protocol, UserClient>();
  for (const { protocol } of users) if (!clients.has(protocol)) clients.set(protocol, userClient(protocol, server.baseUrl, server.adminToken));

  const loop = async (user: DrillUser) => {
    const client = clients.get(user.protocol)!;
    while (!halted) {
      const call: Change = { type: user.locked ? "user.unlocked" : "user.locked", sequence: user.sequence + 1, acknowledged: false };
      user.inFlight = call;
      let sequence: number;
      try {
        const request = { userId: user.id };
        const response =
          call.type === "user.locked"
            ? await client.lockUser(request, { timeoutMs: CALL_TIMEOUT_MS })
            : await client.unlockUser(request, { timeoutMs: CALL_TIMEOUT_MS });
        sequence = Number(response.details?.sequence);
      } catch (err) {
        if (!halted && options.expected?.(err)) {
          user.inFlight = undefined;
          await new Promise((resolve) => setTimeout(resolve, options.pauseMs ?? 0));
          continue;
        }
        // After halt the kill is what cut the call; before it, the server failed a call it should have served.
        if (!halted && !options.unknown?.(err)) violations.push(`${user.id}: ${call.type} #${call.sequence} over ${user.protocol} failed while the server was up: ${String(err)}`);
        return;
      }
      user.inFlight = undefined;
      user.changes.push({ type: call.type, sequence, acknowledged: true });
      if (sequence !== call.sequence) violations.push(`${user.id}: ${call.type} acknowledged with sequence ${sequence}, expected ${call.sequence}`);
      user.locked = call.type === "user.locked";
      user.sequence = call.sequence;
    }
  };

  const done = Promise.all(users.map(loop)).then(() => undefined);
  return {
    halt: () => {
      halted = true;
    },
    done,
  };
}

/** The changes the server acknowledged to the load, over every user. */
export function acknowledgedCount(users: DrillUser[]): number {
  return users.reduce((sum, user) => sum + user.changes.filter((change) => change.acknowledged).length, 0);
}

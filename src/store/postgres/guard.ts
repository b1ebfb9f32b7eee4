/** Driver errors in the store's vocabulary, for every PostgreSQL store. */
import { DomainError } from "../../domain/errors.js";
import { ConflictError } from "../store.js";

const UNIQUE_VIOLATION = "23505";
const CONFLICTS: Record<string, ConflictError["reason"]> = {
  users_pkey: "userId",
  sessions_pkey: "session",
  users_org_username: "username",
  events_aggregate_sequence: "sequence",
  ssf_streams_receiver: "receiver",
  action_targets_name: "targetName",
};

/** Connection failures: class 08, shutdowns (57P0x), and the driver's own socket errors. */
const UNAVAILABLE_CODES = /^(08|57P0)|^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|ENOTFOUND|EAI_AGAIN)$/;
const UNAVAILABLE_MESSAGES = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/;

/** Turns driver errors into the store's vocabulary: conflicts, or an unavailable database. */
export async function guard<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof ConflictError || err instanceof DomainError) throw err;
    const cause = (err instanceof Error && err.cause instanceof Error ? err.cause : err) as {
      code?: string;
      constraint?: string;
      message?: string;
    };
    const conflict = cause.code === UNIQUE_VIOLATION && cause.constraint ? CONFLICTS[cause.constraint] : undefined;
    if (conflict) throw new ConflictError(conflict);
    if (UNAVAILABLE_CODES.test(cause.code ?? "") || UNAVAILABLE_MESSAGES.test(cause.message ?? "")) {
      throw new DomainError("Unavailable", undefined, "The database is unavailable; try again");
    }
    throw err;
  }
}

/** The one place where domain errors become protocol errors. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { CredentialsCheckErrorSchema, ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { DomainError, type ErrorKind } from "../domain/errors.js";

const CODE_OF: Record<ErrorKind, Code> = {
  InvalidArgument: Code.InvalidArgument,
  NotFound: Code.NotFound,
  AlreadyExists: Code.AlreadyExists,
  PermissionDenied: Code.PermissionDenied,
  Unauthenticated: Code.Unauthenticated,
  FailedPrecondition: Code.FailedPrecondition,
  ResourceExhausted: Code.ResourceExhausted,
  Aborted: Code.Aborted,
  Unavailable: Code.Unavailable,
  Internal: Code.Internal,
};

/** The status code a domain error is answered with (also each failed user's code in a bulk answer). */
export const codeOf = (kind: ErrorKind): Code => CODE_OF[kind];

/** Like ZITADEL: a failed password check carries a CredentialsCheckError, every other error an ErrorDetail. */
function detailsOf(err: DomainError) {
  if (!err.id) return [];
  if (err.failedAttempts !== undefined) {
    const value = create(CredentialsCheckErrorSchema, { id: err.id, message: err.text, failedAttempts: err.failedAttempts });
    return [{ desc: CredentialsCheckErrorSchema, value }];
  }
  return [{ desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { id: err.id, message: err.text }) }];
}

/**
 * SQLite's "another process holds the lock" (SQLITE_BUSY and its extended codes): with several
 * workers on one file a write waits busy_timeout for the lock (sqlite-store.ts), and one that
 * still finds it held has not happened; the client may try again, as for a PostgreSQL that is
 * unavailable (postgres/guard.ts).
 */
const isSqliteBusy = (err: unknown): boolean => /^SQLITE_(BUSY|LOCKED)/.test(String((err as { code?: unknown } | undefined)?.code ?? ""));

/**
 * A DomainError keeps its message ("<text> (<ID>)") and gets a zitadel.v1.ErrorDetail;
 * ConnectErrors pass through; a busy SQLite is Unavailable; anything else is an internal error
 * whose cause is reported to `onInternal` and never sent to the client.
 */
export function toConnectError(err: unknown, onInternal: (err: unknown) => void): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) return new ConnectError(err.message, codeOf(err.kind), undefined, detailsOf(err));
  if (isSqliteBusy(err)) return new ConnectError("The database is busy; try again", Code.Unavailable);
  onInternal(err);
  return new ConnectError("internal error", Code.Internal);
}

/** A body that is not valid protobuf, or a message flagged compressed without a compression, is the client's mistake (SPEC §5). */
export const malformedProtobuf = (inputName: string, reason: string) =>
  new ConnectError(`invalid ${inputName}: malformed protobuf (${reason})`, Code.InvalidArgument);

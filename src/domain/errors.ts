/** What went wrong, independent of any protocol; rpc/errors.ts maps each kind to a status code. */
export type ErrorKind =
  | "InvalidArgument"
  | "NotFound"
  | "AlreadyExists"
  | "PermissionDenied"
  | "Unauthenticated"
  | "FailedPrecondition"
  | "ResourceExhausted"
  | "Aborted"
  | "Unavailable"
  | "Internal";

/**
 * An expected failure with a stable id (as ZITADEL's, e.g. COMMAND-lgws8wtsqf) and a
 * human message. Validation failures carry no id, like ZITADEL's request validation.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    readonly id: string | undefined,
    readonly text: string,
    /** For a wrong password: the failed attempts so far, which ZITADEL reports in a CredentialsCheckError. */
    readonly failedAttempts?: number,
  ) {
    super(id ? `${text} (${id})` : text);
    this.name = "DomainError";
  }
}

export const invalidArgument = (text: string) => new DomainError("InvalidArgument", undefined, text);

/** The store could not be reached (a database restarting, a connection lost): worth trying again later. */
export const isUnavailable = (err: unknown): err is DomainError => err instanceof DomainError && err.kind === "Unavailable";

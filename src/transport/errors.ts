/** The one place where domain errors become protocol errors. */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
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

/**
 * A DomainError keeps its message ("<text> (<ID>)") and gets a zitadel.v1.ErrorDetail;
 * ConnectErrors pass through; anything else is an internal error whose cause is
 * reported to `onInternal` and never sent to the client.
 */
export function toConnectError(err: unknown, onInternal: (err: unknown) => void): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof DomainError) {
    const details = err.id ? [{ desc: ErrorDetailSchema, value: create(ErrorDetailSchema, { id: err.id, message: err.text }) }] : [];
    return new ConnectError(err.message, CODE_OF[err.kind], undefined, details);
  }
  onInternal(err);
  return new ConnectError("internal error", Code.Internal);
}

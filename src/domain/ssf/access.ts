/**
 * Who may do what with the transmitter's streams (SSF §8: the authorization associates a
 * receiver with its streams). A receiver is the user that created a stream; `ssf.manage` lets
 * a caller create one and read and change its own, `ssf.read` lets it read every stream.
 */
import { DomainError } from "../errors.js";
import { hasInstancePermission, type Principal } from "../permissions.js";
import type { SsfStream } from "./stream.js";

export const canManageStreams = (caller: Principal) => hasInstancePermission(caller, "ssf.manage");
export const canReadAllStreams = (caller: Principal) => hasInstancePermission(caller, "ssf.read");

export const canSeeStream = (caller: Principal, stream: SsfStream) =>
  canReadAllStreams(caller) || (canManageStreams(caller) && stream.receiverId === caller.userId);

export function requireManage(caller: Principal): void {
  if (!canManageStreams(caller)) throw new DomainError("PermissionDenied", undefined, "changing streams needs ssf.manage");
}

export function requireRead(caller: Principal): void {
  if (!canManageStreams(caller) && !canReadAllStreams(caller)) throw new DomainError("PermissionDenied", undefined, "reading streams needs ssf.read or ssf.manage");
}

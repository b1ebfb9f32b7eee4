/** Cross-cutting steps every call of the user service goes through, in this order. */
import type { Interceptor, StreamRequest, UnaryRequest } from "@connectrpc/connect";
import { UserService, type ListUsersRequest } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { UserApp } from "../app/user-app.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { DEFAULT_LIST_LIMIT } from "../domain/user-query.js";
import { CALLER } from "./caller.js";
import { CALL_REPORT } from "./call-report.js";
import { toConnectError } from "./errors.js";
import { mapStreamErrors } from "./map-stream.js";

/**
 * Outermost: turns whatever a later step throws into the protocol's error, and tells the
 * dispatcher when the call failed on its credentials (what the attempt limit counts).
 */
export function errorInterceptor(onInternal: (err: unknown) => void): Interceptor {
  return (next) => async (req) => {
    const convert = (err: unknown) => {
      const client = req.contextValues.get(CALL_REPORT);
      if (client && isCredentialFailure(err)) client.credentialsFailed = true;
      return toConnectError(err, onInternal);
    };
    try {
      const res = await next(req);
      // A streaming answer's errors come while its messages are read.
      return res.stream ? { ...res, message: mapStreamErrors(res.message, convert) } : res;
    } catch (err) {
      throw convert(err);
    }
  };
}

/** An invalid or missing token, or a wrong password (which carries the failed-attempt count). */
const isCredentialFailure = (err: unknown) =>
  err instanceof DomainError && (err.kind === "Unauthenticated" || err.failedAttempts !== undefined);

/** What the heap admission reads (observability/heap-pressure.ts). */
export interface HeapAdmission {
  readonly high: boolean;
  reserveRows(rows: number): (() => void) | undefined;
}

/** The rows a call lists at most: a ListUsers page; 0 for every other call. */
function listedRows(req: UnaryRequest | StreamRequest): number {
  if (req.stream || req.service.typeName !== UserService.typeName || req.method.name !== "ListUsers") return 0;
  return (req.message as ListUsersRequest).query?.limit || DEFAULT_LIST_LIMIT;
}

const shortOfMemory = () => new DomainError("ResourceExhausted", undefined, "the server is short of memory; try again shortly");

/**
 * Refuses new calls and streams while the heap is near its limit, and pages of users beyond what
 * the pages in flight may hold (observability/heap-pressure.ts): a refused call costs almost
 * nothing, and the client may try again once the calls that hold memory now have ended.
 */
export function heapAdmissionInterceptor(heap: HeapAdmission): Interceptor {
  return (next) => async (req) => {
    if (heap.high) throw shortOfMemory();
    const rows = listedRows(req);
    if (rows === 0) return next(req);
    const release = heap.reserveRows(rows);
    if (!release) throw shortOfMemory();
    try {
      return await next(req);
    } finally {
      release();
    }
  };
}

/** Refuses every call from an address that has used up its failed credentials for now. */
export const attemptLimitInterceptor: Interceptor = (next) => async (req) => {
  const retryAfterS = req.contextValues.get(CALL_REPORT)?.retryAfterS ?? 0;
  if (retryAfterS > 0) {
    throw new DomainError("ResourceExhausted", undefined, `too many failed authentication attempts from this address; retry in ${retryAfterS} s`);
  }
  return next(req);
};

export function authInterceptor(app: UserApp): Interceptor {
  return (next) => async (req) => {
    req.contextValues.set(CALLER, await app.authenticate(req.header.get("authorization") ?? undefined));
    return next(req);
  };
}

/** Refuses binary fields this server does not know instead of silently dropping them. */
export const unknownFieldInterceptor: Interceptor = (next) => async (req) => {
  if (!req.stream) {
    const unknown = findUnknownField(req.message);
    if (unknown) throw invalidArgument(`invalid ${unknown.message}: unknown field ${unknown.field} is not supported`);
  }
  return next(req);
};

interface UnknownField {
  message: string;
  field: number;
}

/** Deeper than any message of the API nests; deeper requests are refused, not walked. */
const MAX_MESSAGE_DEPTH = 64;

function findUnknownField(value: unknown, depth = 0): UnknownField | undefined {
  if (depth > MAX_MESSAGE_DEPTH) throw invalidArgument(`invalid request: nested deeper than ${MAX_MESSAGE_DEPTH} levels`);
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findUnknownField(item, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  if (value === null || typeof value !== "object" || value instanceof Uint8Array) return undefined;
  const record = value as { $typeName?: string; $unknown?: { no: number }[] };
  const first = record.$unknown?.[0];
  if (first && record.$typeName) return { message: record.$typeName.split(".").pop()!, field: first.no };
  for (const [key, child] of Object.entries(value)) {
    if (key === "$unknown") continue;
    const found = findUnknownField(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}

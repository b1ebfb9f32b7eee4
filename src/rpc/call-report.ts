/** What the edge knows of a network call's client, and what the call reports back about how it ended. */
import { Code, createContextKey } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

/** The gRPC status code a call ended with; 0 is OK. */
export type StatusCode = Code | 0;

export interface CallReport {
  /** The client's address, as the attempt limit counts it (src/security/failure-limiter.ts). */
  address: string;
  /** Seconds until this address may call again after too many failed credentials; 0: it may. */
  retryAfterS: number;
  /** Set when the call failed on its credentials: an invalid token, a wrong password. */
  credentialsFailed: boolean;
  /** How the call ended, set by whatever made its answer: the fast path, REST, or the reader of Connect-ES's answers. */
  code?: StatusCode;
}

/** Set by the edge for every call that comes over the network; absent in in-memory calls. */
export const CALL_REPORT = createContextKey<CallReport | undefined>(undefined, { description: "call report" });

/** Records how the call made of `request` ended, if it came over the network. */
export function reportCode(request: UniversalServerRequest, code: StatusCode): void {
  const report = request.contextValues?.get(CALL_REPORT);
  if (report) report.code = code;
}

/** A code's name as Connect's JSON and the call log write it: InvalidArgument → "invalid_argument", 0 → "ok". */
export const codeName = (code: StatusCode): string =>
  code === 0 ? "ok" : (Code[code] ?? "Unknown").replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase();

const CODES_BY_NAME = new Map(Object.values(Code).flatMap((code) => (typeof code === "number" ? [[codeName(code), code] as const] : [])));

/** The code of a name in Connect's JSON; undefined for a name that is none. */
export const codeOfName = (name: string): Code | undefined => CODES_BY_NAME.get(name);

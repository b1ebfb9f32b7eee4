/**
 * Reading the JSON of SSF requests and writing their answers. SSF §8 gives each failure an HTTP
 * status and no body shape; ours is the one SET delivery uses for errors (RFC 8935 §2.4),
 * `{"err": code, "description": text}`. Bearer token failures also carry RFC 6750's
 * WWW-Authenticate challenge.
 */
import { Code } from "@connectrpc/connect";
import { DomainError, invalidArgument, type ErrorKind } from "../../domain/errors.js";
import { readAll } from "../../rpc/byte-streams.js";
import type { StatusCode } from "../../rpc/call-report.js";
import { RetryLater } from "../../app/ssf/streams.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../json-depth.js";
import type { NodeRequest, NodeResponse } from "../universal-request.js";
import type { JsonObject } from "./fields.js";

/** An answer: its status, JSON body (none for 204 and empty 200s) and headers. */
export interface Reply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

/** The request body as a JSON object; an empty body is an empty object where `emptyAllowed`. */
export async function readJsonObject(req: NodeRequest, maxBytes: number, emptyAllowed = false): Promise<JsonObject> {
  const raw = await readAll(req, maxBytes, () => new DomainError("InvalidArgument", undefined, `request body larger than ${maxBytes} bytes`));
  const text = raw.toString("utf8").trim();
  if (text === "" && emptyAllowed) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw invalidArgument("request body is not valid JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) throw invalidArgument("request body must be a JSON object");
  if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) throw invalidArgument(`request body nested deeper than ${MAX_JSON_DEPTH} levels`);
  return parsed as JsonObject;
}

const STATUS_OF: Partial<Record<ErrorKind, { status: number; err: string; code: Code }>> = {
  InvalidArgument: { status: 400, err: "invalid_request", code: Code.InvalidArgument },
  FailedPrecondition: { status: 400, err: "invalid_request", code: Code.FailedPrecondition },
  Unauthenticated: { status: 401, err: "authentication_failed", code: Code.Unauthenticated },
  PermissionDenied: { status: 403, err: "access_denied", code: Code.PermissionDenied },
  NotFound: { status: 404, err: "not_found", code: Code.NotFound },
  AlreadyExists: { status: 409, err: "conflict", code: Code.AlreadyExists },
  ResourceExhausted: { status: 429, err: "too_many_requests", code: Code.ResourceExhausted },
  Unavailable: { status: 503, err: "temporarily_unavailable", code: Code.Unavailable },
};

/**
 * The answer to a failed request; `scope` is the permission the operation needs, for the
 * challenge of a 403. Anything but a DomainError is an internal error, reported and not shown.
 */
export function errorReply(err: unknown, scope: string, onInternal: (err: unknown) => void): Reply & { code: StatusCode } {
  const mapped = err instanceof DomainError ? STATUS_OF[err.kind] : undefined;
  if (!mapped) {
    onInternal(err);
    return { status: 500, body: { err: "server_error", description: "internal error" }, code: Code.Internal };
  }
  const headers: Record<string, string> = {};
  if (mapped.status === 401) headers["www-authenticate"] = err instanceof DomainError && err.id ? 'Bearer error="invalid_token"' : "Bearer";
  if (mapped.status === 403) headers["www-authenticate"] = `Bearer error="insufficient_scope", scope="${scope}"`;
  if (err instanceof RetryLater) headers["retry-after"] = String(err.retryAfterS);
  return { status: mapped.status, body: { err: mapped.err, description: (err as DomainError).message }, headers, code: mapped.code };
}

export function writeReply(res: NodeResponse, reply: Reply): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const body = reply.body === undefined ? undefined : JSON.stringify(reply.body);
  res.writeHead(reply.status, { ...(body !== undefined && { "content-type": "application/json" }), ...reply.headers });
  if (body === undefined) res.end();
  else res.end(body);
}

/**
 * The OpenID Shared Signals transmitter's HTTP endpoints (EXTENSIONS.md §4), served beside the
 * RPCs on the one port: discovery and the JWKS without a token; the stream management API and
 * the poll endpoints with a bearer token in the Authorization header (RFC 6750 §2.1; the CAEP
 * interoperability profile refuses tokens in the query string, so do we).
 */
import { Code } from "@connectrpc/connect";
import type { Principal } from "../../domain/permissions.js";
import { DomainError } from "../../domain/errors.js";
import { DELIVERY_METHODS } from "../../domain/ssf/event-types.js";
import type { PollQueue } from "../../app/ssf/poll-queue.js";
import type { SigningKeys } from "../../app/ssf/signing-keys.js";
import type { SsfStreams } from "../../app/ssf/streams.js";
import type { CallRecord } from "../call-record.js";
import type { NodeRequest, NodeResponse } from "../universal-request.js";
import type { JsonObject } from "./fields.js";
import * as management from "./management.js";
import { poll } from "./poll.js";
import { errorReply, readJsonObject, writeReply, type Reply } from "./replies.js";

export interface SsfHttpOptions {
  streams: SsfStreams;
  keys: SigningKeys;
  /** Resolves the Authorization header to its caller (app/user-app.ts). */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** The delivery side's poll queue (app/ssf/stored-poll-queue.ts). */
  pollQueue: PollQueue;
  /** How long a poll without returnImmediately waits for a SET (SSF_LONG_POLL_MS). */
  longPollMs: number;
  maxBodyBytes: number;
  /** Aborted when shutdown begins: long polls answer then. */
  shutdownSignal: AbortSignal;
  onInternal(err: unknown): void;
}

export const SSF_PATHS = {
  discovery: "/.well-known/ssf-configuration",
  jwks: "/ssf/jwks",
  streams: "/ssf/streams",
  status: "/ssf/status",
  addSubject: "/ssf/subjects:add",
  removeSubject: "/ssf/subjects:remove",
  verify: "/ssf/verify",
  /** Followed by the stream id. */
  poll: "/ssf/poll/",
} as const;

/** One endpoint: its name in the call log, and whether it needs `ssf.manage` (else `ssf.read`). */
interface Operation {
  name: string;
  scope: "ssf.read" | "ssf.manage";
  run: management.ManagementOperation;
}

const MANAGEMENT: Record<string, Record<string, Operation>> = {
  [SSF_PATHS.streams]: {
    POST: { name: "CreateStream", scope: "ssf.manage", run: management.createStream },
    GET: { name: "ReadStream", scope: "ssf.read", run: management.readStreams },
    PATCH: { name: "UpdateStream", scope: "ssf.manage", run: management.updateStream },
    PUT: { name: "ReplaceStream", scope: "ssf.manage", run: management.replaceStream },
    DELETE: { name: "DeleteStream", scope: "ssf.manage", run: management.deleteStream },
  },
  [SSF_PATHS.status]: {
    GET: { name: "ReadStatus", scope: "ssf.read", run: management.readStatus },
    POST: { name: "UpdateStatus", scope: "ssf.manage", run: management.updateStatus },
  },
  [SSF_PATHS.addSubject]: { POST: { name: "AddSubject", scope: "ssf.manage", run: management.addSubject } },
  [SSF_PATHS.removeSubject]: { POST: { name: "RemoveSubject", scope: "ssf.manage", run: management.removeSubject } },
  [SSF_PATHS.verify]: { POST: { name: "Verify", scope: "ssf.manage", run: management.requestVerification } },
};

/** The metadata document (SSF §7.1), every URL under the issuer. */
export function discoveryDocument(streams: SsfStreams): JsonObject {
  const { issuer, defaultSubjects } = streams.settings;
  return {
    spec_version: "1_0",
    issuer,
    jwks_uri: `${issuer}${SSF_PATHS.jwks}`,
    delivery_methods_supported: DELIVERY_METHODS,
    configuration_endpoint: `${issuer}${SSF_PATHS.streams}`,
    status_endpoint: `${issuer}${SSF_PATHS.status}`,
    add_subject_endpoint: `${issuer}${SSF_PATHS.addSubject}`,
    remove_subject_endpoint: `${issuer}${SSF_PATHS.removeSubject}`,
    verification_endpoint: `${issuer}${SSF_PATHS.verify}`,
    authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6750" }],
    default_subjects: defaultSubjects,
  };
}

/** The stream id in a poll path; text that is no percent-encoding names no stream. */
function streamIdOf(encoded: string): string {
  try {
    return decodeURIComponent(encoded);
  } catch {
    throw new DomainError("NotFound", undefined, "no such poll endpoint");
  }
}

/** The status codes of the call log and metrics, for answers that are not an error's. */
const codeOfStatus = (status: number) => (status < 400 ? 0 : status === 405 ? Code.Unimplemented : Code.Unknown);

export function createSsfHandler(options: SsfHttpOptions) {
  // SSF §7.2: with a path in the issuer, the document is also at the well-known path followed by it.
  const issuerPath = new URL(options.streams.settings.issuer).pathname.replace(/\/$/, "");
  const discoveryPaths = new Set([SSF_PATHS.discovery, `${SSF_PATHS.discovery}${issuerPath}`]);

  /** Returns false for a path that is none of the transmitter's. */
  return function serveSsf(req: NodeRequest, res: NodeResponse, path: string, call: CallRecord): boolean {
    const answer = (name: string, scope: string, work: () => Promise<Reply>) => {
      call.protocol = "rest";
      call.method = `ssf/${name}`;
      work().then(
        (reply) => {
          call.report.code = codeOfStatus(reply.status);
          writeReply(res, reply);
        },
        (err: unknown) => {
          const reply = errorReply(err, scope, options.onInternal);
          call.report.code = reply.code;
          if (reply.status === 401) call.report.credentialsFailed = true;
          writeReply(res, reply);
        },
      );
    };
    const url = new URL(req.url ?? "/", "http://localhost");
    const notAllowed = (allow: string[]) => ({ status: 405, headers: { allow: allow.join(", ") }, body: { err: "invalid_request", description: "method not allowed" } });

    if (discoveryPaths.has(path) || path === SSF_PATHS.jwks) {
      const name = path === SSF_PATHS.jwks ? "Jwks" : "Discovery";
      answer(name, "", async () => {
        if (req.method !== "GET") return notAllowed(["GET"]);
        return { status: 200, body: name === "Jwks" ? await options.keys.jwks() : discoveryDocument(options.streams) };
      });
      return true;
    }

    const authenticated = async (): Promise<Principal> => {
      // Refused before any work; an address over its attempt limit is refused everything (429).
      if (call.report.retryAfterS > 0) {
        throw new DomainError("ResourceExhausted", undefined, `too many failed authentication attempts from this address; retry in ${call.report.retryAfterS} s`);
      }
      if (url.searchParams.has("access_token")) {
        throw new DomainError("Unauthenticated", undefined, "access tokens are accepted only in the Authorization header");
      }
      const header = req.headers.authorization;
      return options.authenticate(typeof header === "string" ? header : undefined);
    };
    const body = (emptyAllowed = false) => () => readJsonObject(req, options.maxBodyBytes, emptyAllowed);

    const operations = MANAGEMENT[path];
    if (operations) {
      const operation = operations[req.method ?? ""];
      if (!operation) {
        answer("MethodNotAllowed", "", async () => notAllowed(Object.keys(operations)));
        return true;
      }
      answer(operation.name, operation.scope, async () =>
        operation.run(options.streams, { caller: await authenticated(), query: url.searchParams, body: body() }),
      );
      return true;
    }

    if (path.startsWith(SSF_PATHS.poll)) {
      const queue = options.pollQueue;
      answer("Poll", "ssf.manage", async () => {
        if (req.method !== "POST") return notAllowed(["POST"]);
        const streamId = streamIdOf(path.slice(SSF_PATHS.poll.length));
        const gone = new AbortController();
        res.once("close", () => gone.abort());
        const signal = AbortSignal.any([gone.signal, options.shutdownSignal]);
        return poll(options.streams, queue, options.longPollMs, { caller: await authenticated(), streamId, body: body(true), signal });
      });
      return true;
    }
    return false;
  };
}

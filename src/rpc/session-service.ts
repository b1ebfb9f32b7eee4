/** zitadel.session.v2.SessionService: convert the request, call the sign-in app, convert the answer. */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate, type Duration } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { SessionSchema, type Session as ProtoSession } from "../../gen/zitadel/session/v2/session_pb.js";
import { SessionService, type Checks } from "../../gen/zitadel/session/v2/session_service_pb.js";
import { invalidArgument } from "../domain/errors.js";
import type { SessionChecks, SessionView, SignInApp } from "../app/sign-in.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";
import { changeDetails } from "./to-proto.js";

export function sessionService(signIn: SignInApp): ServiceImpl<typeof SessionService> {
  return {
    async createSession(req, ctx) {
      const checks = sessionChecks("CreateSessionRequest", req.checks, req.lifetime);
      const { sessionId, sessionToken, details } = await signIn.createSession(checks, callerOf(ctx));
      return { sessionId, sessionToken, details: changeDetails(details) };
    },
    async setSession(req, ctx) {
      const sessionId = requireLength(req.sessionId, "SetSessionRequest", "SessionId", 1, 200);
      const checks = sessionChecks("SetSessionRequest", req.checks, req.lifetime);
      const { sessionToken, details } = await signIn.setSession(sessionId, checks, callerOf(ctx));
      return { sessionToken, details: changeDetails(details) };
    },
    async getSession(req, ctx) {
      const sessionId = requireLength(req.sessionId, "GetSessionRequest", "SessionId", 1, 200);
      return { session: toProtoSession(await signIn.getSession(sessionId, req.sessionToken, callerOf(ctx))) };
    },
    async deleteSession(req, ctx) {
      const sessionId = requireLength(req.sessionId, "DeleteSessionRequest", "SessionId", 1, 200);
      return { details: changeDetails(await signIn.deleteSession(sessionId, req.sessionToken, callerOf(ctx))) };
    },
  };
}

function sessionChecks(requestName: string, checks: Checks | undefined, lifetime: Duration | undefined): SessionChecks {
  const search = checks?.user?.search;
  if (checks?.user && !search?.case) throw invalidArgument(`invalid ${requestName}.Checks.User: a user_id or login_name is required`);
  if (search) requireLength(search.value!, "CheckUser", search.case === "userId" ? "UserId" : "LoginName", 1, 200);
  if (checks?.password) requireLength(checks.password.password, "CheckPassword", "Password", 1, 200);
  const lifetimeSeconds = lifetime === undefined ? undefined : Number(lifetime.seconds) + lifetime.nanos / 1e9;
  if (lifetimeSeconds !== undefined && !(lifetimeSeconds > 0)) {
    throw invalidArgument(`invalid ${requestName}.Lifetime: value must be greater than 0s`);
  }
  return {
    user: search?.case === "userId" ? { userId: search.value } : search?.case === "loginName" ? { loginName: search.value } : undefined,
    password: checks?.password?.password,
    lifetimeSeconds,
  };
}

function toProtoSession({ session, user }: SessionView): ProtoSession {
  const profile = user.human?.profile;
  const displayName = profile?.displayName || (profile ? `${profile.givenName} ${profile.familyName}` : (user.machine?.name ?? ""));
  return create(SessionSchema, {
    id: session.id,
    creationDate: timestampFromDate(session.createdAt),
    changeDate: timestampFromDate(session.changedAt),
    sequence: BigInt(session.sequence),
    factors: {
      user: {
        verifiedAt: timestampFromDate(session.userCheckedAt),
        id: user.id,
        loginName: user.username,
        displayName,
        organizationId: user.orgId,
      },
      password: session.passwordCheckedAt ? { verifiedAt: timestampFromDate(session.passwordCheckedAt) } : undefined,
    },
    expirationDate: session.expiresAt && timestampFromDate(session.expiresAt),
  });
}

/**
 * zitadel.session.v2.SessionService (CreateSession, SetSession, GetSession, DeleteSession) and
 * zitadel.settings.v2.SettingsService.GetLockoutSettings over gRPC, Connect JSON and REST:
 * user and password checks with ZITADEL's errors, session tokens instead of permissions, the
 * lockout after wrong passwords as each protocol answers it, imported bcrypt hashes, lockout
 * settings and their CLI. The rules themselves, case by case, are in test/app/.
 */
import { randomUUID } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, createClient, type Client } from "@connectrpc/connect";
import bcrypt from "bcryptjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsCheckErrorSchema } from "../gen/zitadel/message_pb.js";
import { ResourceOwnerType } from "../gen/zitadel/settings/v2/settings_pb.js";
import { SettingsService } from "../gen/zitadel/settings/v2/settings_service_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { sessionClient, transport, userClient, type Protocol, type SessionClient, type UserClient } from "./support/clients.js";
import { eventsOf } from "./support/db.js";
import { addHuman, addMachine, addOrg, cli, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const PASSWORD = "Secr3t-Passw0rd!";
const PROTOCOLS: Protocol[] = ["grpc", "connect-json"];

type SettingsClient = Client<typeof SettingsService>;

const settingsClient = (server: TestServer, protocol: Protocol, token: string): SettingsClient =>
  createClient(SettingsService, transport(protocol, server.baseUrl, token));

const withinAMinute = (date: Date, of = Date.now()) => Math.abs(date.getTime() - of) < 60_000;

/** Asserts a failed password check: InvalidArgument, ZITADEL's message and a CredentialsCheckError. */
async function expectWrongPassword(call: Promise<unknown>, failedAttempts: number) {
  const err = await expectCode(call, Code.InvalidArgument);
  expect(err.rawMessage).toBe("Password is invalid (COMMAND-3M0fs)");
  const details = err.findDetails(CredentialsCheckErrorSchema);
  expect(details).toHaveLength(1);
  expect(details[0]).toMatchObject({ id: "COMMAND-3M0fs", message: "Password is invalid", failedAttempts });
}

const passwordCheckEvents = async (server: TestServer, userId: string) =>
  (await eventsOf(server, userId)).map((e) => e.type).filter((type) => type.startsWith("user.human.password.check."));

const sessionGone = (call: Promise<unknown>) => expectZitadelError(call, Code.NotFound, "QUERY-SFeaa", "Session does not exist");

/** One REST call over fetch. */
async function rest(server: TestServer, method: string, path: string, token: string, body?: unknown) {
  const headers: Record<string, string> = { authorization: `Bearer ${token}` };
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, text, json };
}

// ---------------------------------------------------------------------------------------
// Sessions
// ---------------------------------------------------------------------------------------

describe("sessions", () => {
  let server: TestServer;
  let orgId: string;
  let loginClient: { userId: string; token: string };
  let viewer: { userId: string; token: string };
  let orgOwner: { userId: string; token: string };
  /** An organization whose own lockout policy locks at the second wrong password. */
  let strictOrg: string;

  beforeAll(async () => {
    server = await startServer();
    [orgId, strictOrg] = await Promise.all([addOrg(server), addOrg(server)]);
    const policy = await cli(server, "lockout", "set", "--org", strictOrg, "--max-password-attempts", "2");
    expect(policy.code, policy.stderr).toBe(0);
    [loginClient, viewer, orgOwner] = await Promise.all([
      addMachine(server, orgId, "IAM_LOGIN_CLIENT"),
      addMachine(server, orgId, "ORG_OWNER_VIEWER"),
      addMachine(server, orgId, "ORG_OWNER"),
    ]);
  });
  afterAll(() => server?.stop());

  describe.each(PROTOCOLS)("over %s", (protocol) => {
    let users: UserClient;
    let sessions: SessionClient;
    beforeAll(() => {
      users = userClient(protocol, server.baseUrl, server.adminToken);
      sessions = sessionClient(protocol, server.baseUrl, loginClient.token);
    });

    const usernameOf = async (userId: string) => (await users.getUserByID({ userId })).user!.username;

    it("creates a session by user id and by login name with a password check, and reads it back", async () => {
      const userId = await addHuman(users);
      const read = (await users.getUserByID({ userId })).user!;
      const userOrg = read.details!.resourceOwner;

      for (const search of [
        { case: "userId" as const, value: userId },
        { case: "loginName" as const, value: read.username },
      ]) {
        const created = await sessions.createSession({ checks: { user: { search }, password: { password: PASSWORD } } });
        expect(created.sessionId).toMatch(/^\d{18}$/);
        expect(created.sessionToken.length).toBeGreaterThan(10);
        expect(created.details!.sequence).toBe(1n);
        expect(created.details!.resourceOwner).toBe(userOrg);
        expect(withinAMinute(timestampDate(created.details!.changeDate!))).toBe(true);

        const { session } = await sessions.getSession({ sessionId: created.sessionId });
        expect(session!.id).toBe(created.sessionId);
        expect(session!.sequence).toBe(1n);
        expect(session!.expirationDate).toBeUndefined();
        const user = session!.factors!.user!;
        expect(user).toMatchObject({ id: userId, loginName: read.username, displayName: "Gigi Giraffe", organizationId: userOrg });
        expect(withinAMinute(timestampDate(user.verifiedAt!))).toBe(true);
        expect(session!.factors!.password).toBeDefined();
        expect(withinAMinute(timestampDate(session!.factors!.password!.verifiedAt!))).toBe(true);
      }
      // Each successful check is an event of the user.
      expect(await passwordCheckEvents(server, userId)).toEqual([
        "user.human.password.check.succeeded",
        "user.human.password.check.succeeded",
      ]);
    });

    it("has no password factor without a password check; a lifetime sets the expiration date", async () => {
      const userId = await addHuman(users);
      const plain = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
      const { session } = await sessions.getSession({ sessionId: plain.sessionId });
      expect(session!.factors!.user!.id).toBe(userId);
      expect(session!.factors!.password).toBeUndefined();
      expect(await passwordCheckEvents(server, userId)).toEqual([]);

      const before = Date.now();
      const timed = await sessions.createSession({
        checks: { user: { search: { case: "userId", value: userId } } },
        lifetime: { seconds: 3600n, nanos: 0 },
      });
      const expiring = (await sessions.getSession({ sessionId: timed.sessionId })).session!;
      expect(expiring.expirationDate).toBeDefined();
      const expiresAt = timestampDate(expiring.expirationDate!).getTime();
      expect(expiresAt).toBeGreaterThanOrEqual(before + 3600_000 - 2000);
      expect(expiresAt).toBeLessThanOrEqual(Date.now() + 3600_000 + 2000);
    });

    it("rejects a non-positive lifetime with InvalidArgument", async () => {
      const userId = await addHuman(users);
      for (const lifetime of [
        { seconds: 0n, nanos: 0 },
        { seconds: -5n, nanos: 0 },
      ]) {
        await expectCode(sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } }, lifetime }), Code.InvalidArgument);
      }
      const created = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
      await expectCode(sessions.setSession({ sessionId: created.sessionId, lifetime: { seconds: 0n, nanos: 0 } }), Code.InvalidArgument);
    });

    it("SetSession adds a password check with a new token; checks.user naming another user is InvalidArgument", async () => {
      const userId = await addHuman(users);
      const other = await addHuman(users);
      const created = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });

      const set = await sessions.setSession({ sessionId: created.sessionId, checks: { password: { password: PASSWORD } } });
      expect(set.details!.sequence).toBe(2n);
      expect(set.sessionToken).not.toBe("");
      expect(set.sessionToken).not.toBe(created.sessionToken);
      const { session } = await sessions.getSession({ sessionId: created.sessionId });
      expect(session!.sequence).toBe(2n);
      expect(session!.factors!.password).toBeDefined();
      expect(session!.factors!.user!.id).toBe(userId);
      // The new token is the session's token now.
      const asViewer = sessionClient(protocol, server.baseUrl, viewer.token);
      expect((await asViewer.getSession({ sessionId: created.sessionId, sessionToken: set.sessionToken })).session!.id).toBe(created.sessionId);

      await expectCode(
        sessions.setSession({ sessionId: created.sessionId, checks: { user: { search: { case: "userId", value: other } } } }),
        Code.InvalidArgument,
      );
      await expectCode(
        sessions.setSession({ sessionId: created.sessionId, checks: { user: { search: { case: "loginName", value: await usernameOf(other) } } } }),
        Code.InvalidArgument,
      );
      // The same user again is fine.
      const again = await sessions.setSession({ sessionId: created.sessionId, checks: { user: { search: { case: "userId", value: userId } } } });
      expect(again.details!.sequence).toBe(3n);
    });

    it("GetSession and DeleteSession take the permission or the session's own token", async () => {
      const userId = await addHuman(users);
      const asViewer = sessionClient(protocol, server.baseUrl, viewer.token);
      const asAdmin = sessionClient(protocol, server.baseUrl, server.adminToken);
      const a = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
      const b = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });

      // With session.read (IAM_LOGIN_CLIENT, IAM_OWNER).
      expect((await sessions.getSession({ sessionId: a.sessionId })).session!.id).toBe(a.sessionId);
      expect((await asAdmin.getSession({ sessionId: a.sessionId })).session!.id).toBe(a.sessionId);
      // Without it, with the session's own token.
      expect((await asViewer.getSession({ sessionId: a.sessionId, sessionToken: a.sessionToken })).session!.id).toBe(a.sessionId);
      // Without it and without the right token.
      const denied = (call: Promise<unknown>) => expectZitadelError(call, Code.PermissionDenied, "AUTH-AWfge", "No matching permissions found");
      await denied(asViewer.getSession({ sessionId: a.sessionId }));
      await denied(asViewer.getSession({ sessionId: a.sessionId, sessionToken: b.sessionToken }));
      await denied(asViewer.getSession({ sessionId: a.sessionId, sessionToken: "not-the-token" }));
      await denied(asViewer.deleteSession({ sessionId: a.sessionId }));
      await denied(asViewer.deleteSession({ sessionId: a.sessionId, sessionToken: b.sessionToken }));
      expect((await sessions.getSession({ sessionId: a.sessionId })).session!.id).toBe(a.sessionId);

      // DeleteSession with the token, no permission.
      const deleted = await asViewer.deleteSession({ sessionId: a.sessionId, sessionToken: a.sessionToken });
      expect(deleted.details!.sequence).toBe(2n);
      await sessionGone(sessions.getSession({ sessionId: a.sessionId }));
      await sessionGone(asViewer.getSession({ sessionId: a.sessionId, sessionToken: a.sessionToken }));
      await sessionGone(sessions.setSession({ sessionId: a.sessionId, checks: { password: { password: PASSWORD } } }));
      await sessionGone(sessions.deleteSession({ sessionId: a.sessionId }));

      // DeleteSession with session.delete.
      await sessions.deleteSession({ sessionId: b.sessionId });
      await sessionGone(sessions.getSession({ sessionId: b.sessionId }));
      await sessionGone(sessions.setSession({ sessionId: b.sessionId, checks: {} }));

      await sessionGone(sessions.getSession({ sessionId: "123456789012345678" }));
    });

    it("CreateSession and SetSession need session.write", async () => {
      const userId = await addHuman(users);
      const existing = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });
      for (const caller of [orgOwner, viewer]) {
        const client = sessionClient(protocol, server.baseUrl, caller.token);
        const denied = (call: Promise<unknown>) => expectZitadelError(call, Code.PermissionDenied, "AUTH-AWfge", "No matching permissions found");
        await denied(client.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password: PASSWORD } } }));
        await denied(client.setSession({ sessionId: existing.sessionId, checks: { password: { password: PASSWORD } } }));
        // Not even with the session's token.
        await denied(client.setSession({ sessionId: existing.sessionId, sessionToken: existing.sessionToken, checks: {} }));
      }
      const { session } = await sessions.getSession({ sessionId: existing.sessionId });
      expect(session!.sequence).toBe(1n);
      expect(session!.factors!.password).toBeUndefined();
      // No password check was made for the denied calls.
      expect(await passwordCheckEvents(server, userId)).toEqual([]);
    });

    it("counts wrong passwords with a CredentialsCheckError and locks at the maximum; the lock ends the session; UnlockUser lets the right password in", async () => {
      const userId = await addHuman(users, { orgId: strictOrg });
      const check = (password: string) => sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password } } });
      const open = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } } } });

      await expectWrongPassword(check("wrong"), 1);
      expect((await users.getUserByID({ userId })).user!.state).toBe(UserState.ACTIVE);
      // SetSession's password check counts the same way; this one reaches the organization's maximum of 2.
      await expectWrongPassword(sessions.setSession({ sessionId: open.sessionId, checks: { password: { password: "wrong" } } }), 2);
      expect((await users.getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
      expect((await eventsOf(server, userId)).map((e) => [e.type, e.actor])).toEqual([
        ["user.human.added", expect.any(String)],
        ["user.human.password.check.failed", loginClient.userId],
        ["user.human.password.check.failed", loginClient.userId],
        ["user.locked", loginClient.userId],
      ]);

      await expectZitadelError(check(PASSWORD), Code.FailedPrecondition, "COMMAND-JLK35", "User is locked");
      await sessionGone(sessions.getSession({ sessionId: open.sessionId }));
      await sessionGone(sessions.setSession({ sessionId: open.sessionId, checks: { password: { password: PASSWORD } } }));

      await users.unlockUser({ userId });
      expect((await check(PASSWORD)).sessionId).toMatch(/^\d{18}$/);
      await expectWrongPassword(check("wrong"), 1);
    });

    it("imports bcrypt hashes ($2a$, $2b$, $2y$) on AddHumanUser and signs in with them", async () => {
      const secret = `imported-${randomUUID()}`;
      const hash2b = bcrypt.hashSync(secret, 4);
      expect(hash2b.startsWith("$2b$")).toBe(true);
      for (const prefix of ["$2a$", "$2b$", "$2y$"]) {
        const hash = prefix + hash2b.slice(4);
        const { userId } = await users.addHumanUser({
          username: `imported-${randomUUID()}`,
          profile: { givenName: "Imp", familyName: "Orted" },
          email: { email: `${randomUUID()}@example.com`, verification: { case: "isVerified", value: true } },
          passwordType: { case: "hashedPassword", value: { hash } },
        });
        expect((await users.getUserByID({ userId })).user!.state, prefix).toBe(UserState.ACTIVE);
        const ok = await sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password: secret } } });
        expect((await sessions.getSession({ sessionId: ok.sessionId })).session!.factors!.password, prefix).toBeDefined();
        await expectWrongPassword(
          sessions.createSession({ checks: { user: { search: { case: "userId", value: userId } }, password: { password: `${secret}x` } } }),
          1,
        );
      }
    });

    it("rejects a non-bcrypt hashed password with InvalidArgument", async () => {
      for (const hash of ["$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "plain", "$2x$04$" + "a".repeat(53), bcrypt.hashSync("x", 4).slice(0, -1)]) {
        const username = `bad-hash-${randomUUID()}`;
        await expectCode(
          users.addHumanUser({
            username,
            profile: { givenName: "Bad", familyName: "Hash" },
            email: { email: `${randomUUID()}@example.com`, verification: { case: "isVerified", value: true } },
            passwordType: { case: "hashedPassword", value: { hash } },
          }),
          Code.InvalidArgument,
        );
        // Nothing was created.
        await expectZitadelError(
          sessions.createSession({ checks: { user: { search: { case: "loginName", value: username } } } }),
          Code.NotFound,
          "QUERY-Dfbg2",
          "User could not be found",
        );
      }
    });
  });

  it("the CLI's lockout set exits 2 on usage errors and changes nothing", async () => {
    const before = await settingsClient(server, "grpc", server.adminToken).getLockoutSettings({ ctx: { resourceOwner: { case: "instance", value: true } } });
    const usageErrors = [
      ["lockout", "set"],
      ["lockout", "set", "--max-otp-attempts", "1"],
      ["lockout", "set", "--max-password-attempts", "3", "--lock-duration", "5x"],
      ["lockout", "set", "--max-password-attempts=-1"],
      ["lockout", "set", "--max-password-attempts", "-1"],
      ["lockout", "set", "--max-password-attempts", "abc"],
      ["lockout", "set", "--max-password-attempts", "3", "--max-otp-attempts=-2"],
    ];
    const results = await Promise.all(usageErrors.map((args) => cli(server, ...args)));
    results.forEach((result, i) => {
      expect(result.code, usageErrors[i]!.join(" ")).toBe(2);
      expect(result.stderr.length, usageErrors[i]!.join(" ")).toBeGreaterThan(0);
    });
    const after = await settingsClient(server, "grpc", server.adminToken).getLockoutSettings({ ctx: { resourceOwner: { case: "instance", value: true } } });
    expect(after.settings!.maxPasswordAttempts).toBe(before.settings!.maxPasswordAttempts);
  });

  describe("over REST", () => {
    const invalidPassword = (failedAttempts: number) => ({
      code: 3,
      message: "Password is invalid (COMMAND-3M0fs)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.CredentialsCheckError", id: "COMMAND-3M0fs", message: "Password is invalid", failedAttempts },
      ],
    });

    it("counts wrong passwords and locks at the maximum (400 and ZITADEL's bodies); the session then answers 404; unlock lets the right password in (201)", async () => {
      const users = userClient("grpc", server.baseUrl, server.adminToken);
      const userId = await addHuman(users, { orgId: strictOrg });
      const signIn = (password: string) => rest(server, "POST", "/v2/sessions", loginClient.token, { checks: { user: { userId }, password: { password } } });
      const open = await rest(server, "POST", "/v2/sessions", loginClient.token, { checks: { user: { userId } } });
      expect(open.status, open.text).toBe(201);

      for (const failedAttempts of [1, 2]) {
        const wrong = await signIn("wrong");
        expect(wrong.status, wrong.text).toBe(400);
        expect(wrong.json).toEqual(invalidPassword(failedAttempts));
      }
      const state = async () => (await rest(server, "GET", `/v2/users/${userId}`, server.adminToken)).json.user.state;
      expect(await state()).toBe("USER_STATE_LOCKED");
      const refused = await signIn(PASSWORD);
      expect(refused.status, refused.text).toBe(400);
      expect(refused.json).toEqual({
        code: 9,
        message: "User is locked (COMMAND-JLK35)",
        details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-JLK35", message: "User is locked" }],
      });
      const patched = await rest(server, "PATCH", `/v2/sessions/${open.json.sessionId}`, loginClient.token, { checks: { password: { password: PASSWORD } } });
      expect(patched.status, patched.text).toBe(404);

      const unlock = await rest(server, "POST", `/v2/users/${userId}/unlock`, server.adminToken, {});
      expect(unlock.status, unlock.text).toBe(200);
      expect(await state()).toBe("USER_STATE_ACTIVE");
      const ok = await signIn(PASSWORD);
      expect(ok.status, ok.text).toBe(201);
      expect(ok.json.sessionId).toMatch(/^\d{18}$/);
      expect((await signIn("wrong")).json, "the count starts again after the unlock").toEqual(invalidPassword(1));
    });

    it("creates, patches, reads and deletes a session with ZITADEL's statuses and bodies", async () => {
      const users = userClient("grpc", server.baseUrl, server.adminToken);
      const userId = await addHuman(users);
      const username = (await users.getUserByID({ userId })).user!.username;

      const created = await rest(server, "POST", "/v2/sessions", loginClient.token, { checks: { user: { loginName: username } }, lifetime: "600s" });
      expect(created.status, created.text).toBe(201);
      expect(Object.keys(created.json).sort()).toEqual(["details", "sessionId", "sessionToken"]);
      expect(created.json.sessionId).toMatch(/^\d{18}$/);
      expect(created.json.details.sequence).toBe("1");
      const sessionId: string = created.json.sessionId;

      const read = await rest(server, "GET", `/v2/sessions/${sessionId}`, loginClient.token);
      expect(read.status, read.text).toBe(200);
      expect(read.json.session.id).toBe(sessionId);
      expect(read.json.session.factors.user).toMatchObject({ id: userId, loginName: username, displayName: "Gigi Giraffe" });
      expect(read.json.session.factors.password).toBeUndefined();
      expect(typeof read.json.session.expirationDate).toBe("string");

      for (const failedAttempts of [1, 2]) {
        const wrong = await rest(server, "PATCH", `/v2/sessions/${sessionId}`, loginClient.token, { checks: { password: { password: "wrong" } } });
        expect(wrong.status, wrong.text).toBe(400);
        expect(wrong.json).toEqual(invalidPassword(failedAttempts));
      }

      const patched = await rest(server, "PATCH", `/v2/sessions/${sessionId}`, loginClient.token, { checks: { password: { password: PASSWORD } } });
      expect(patched.status, patched.text).toBe(200);
      expect(patched.json.details.sequence).toBe("2");
      expect(patched.json.sessionToken).not.toBe(created.json.sessionToken);
      const withPassword = await rest(server, "GET", `/v2/sessions/${sessionId}`, server.adminToken);
      expect(withPassword.status).toBe(200);
      expect(typeof withPassword.json.session.factors.password.verifiedAt).toBe("string");

      const forbidden = await rest(server, "DELETE", `/v2/sessions/${sessionId}`, viewer.token, { sessionToken: created.json.sessionToken });
      expect(forbidden.status, forbidden.text).toBe(403);
      expect(forbidden.json).toEqual({
        code: 7,
        message: "No matching permissions found (AUTH-AWfge)",
        details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "AUTH-AWfge", message: "No matching permissions found" }],
      });
      const deleted = await rest(server, "DELETE", `/v2/sessions/${sessionId}`, viewer.token, { sessionToken: patched.json.sessionToken });
      expect(deleted.status, deleted.text).toBe(200);
      expect(deleted.json.details.sequence).toBe("3");

      const gone = await rest(server, "GET", `/v2/sessions/${sessionId}`, loginClient.token);
      expect(gone.status).toBe(404);
      expect(gone.json).toEqual({
        code: 5,
        message: "Session does not exist (QUERY-SFeaa)",
        details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "QUERY-SFeaa", message: "Session does not exist" }],
      });

      const denied = await rest(server, "POST", "/v2/sessions", orgOwner.token, { checks: { user: { userId } } });
      expect(denied.status).toBe(403);
      expect(denied.json.message).toBe("No matching permissions found (AUTH-AWfge)");
    });
  });
});

// ---------------------------------------------------------------------------------------
// Lockout settings (a server per protocol: the settings are instance-wide state)
// ---------------------------------------------------------------------------------------

describe.each(PROTOCOLS)("lockout settings over %s", (protocol) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer();
  });
  afterAll(() => server?.stop());

  it("answers the defaults, then the instance's and an organization's own settings", async () => {
    const settings = settingsClient(server, protocol, server.adminToken);
    const [orgA, orgB] = await Promise.all([addOrg(server), addOrg(server)]);

    for (const ctx of [undefined, { resourceOwner: { case: "instance" as const, value: true } }, { resourceOwner: { case: "orgId" as const, value: orgA } }]) {
      const res = await settings.getLockoutSettings({ ctx });
      expect(res.settings!.maxPasswordAttempts).toBe(0n);
      expect(res.settings!.maxOtpAttempts).toBe(0n);
      expect(res.settings!.resourceOwnerType).toBe(ResourceOwnerType.INSTANCE);
    }

    const setInstance = await cli(server, "lockout", "set", "--max-password-attempts", "3");
    expect(setInstance.code, setInstance.stderr).toBe(0);
    const instance = await settings.getLockoutSettings({ ctx: { resourceOwner: { case: "instance", value: true } } });
    expect(instance.settings!.maxPasswordAttempts).toBe(3n);
    expect(instance.settings!.resourceOwnerType).toBe(ResourceOwnerType.INSTANCE);
    expect((await settings.getLockoutSettings({})).settings!.maxPasswordAttempts).toBe(3n);

    const setOrg = await cli(server, "lockout", "set", "--org", orgA, "--max-password-attempts", "5", "--max-otp-attempts", "2", "--lock-duration", "1h30m");
    expect(setOrg.code, setOrg.stderr).toBe(0);
    const own = await settings.getLockoutSettings({ ctx: { resourceOwner: { case: "orgId", value: orgA } } });
    expect(own.settings!.maxPasswordAttempts).toBe(5n);
    expect(own.settings!.maxOtpAttempts).toBe(2n);
    expect(own.settings!.resourceOwnerType).toBe(ResourceOwnerType.ORG);
    expect(own.details!.resourceOwner).toBe(orgA);

    const fallback = await settings.getLockoutSettings({ ctx: { resourceOwner: { case: "orgId", value: orgB } } });
    expect(fallback.settings!.maxPasswordAttempts).toBe(3n);
    expect(fallback.settings!.resourceOwnerType).toBe(ResourceOwnerType.INSTANCE);

    const stillInstance = await settings.getLockoutSettings({ ctx: { resourceOwner: { case: "instance", value: true } } });
    expect(stillInstance.settings!.maxPasswordAttempts).toBe(3n);
    expect(stillInstance.settings!.resourceOwnerType).toBe(ResourceOwnerType.INSTANCE);

    // An org member without a ctx gets its own organization's settings.
    const member = await addMachine(server, orgA, "ORG_OWNER_VIEWER");
    const memberView = await settingsClient(server, protocol, member.token).getLockoutSettings({});
    expect(memberView.settings!.maxPasswordAttempts).toBe(5n);
    expect(memberView.settings!.resourceOwnerType).toBe(ResourceOwnerType.ORG);

    // REST
    const restInstance = await rest(server, "GET", "/v2/settings/lockout", server.adminToken);
    expect(restInstance.status, restInstance.text).toBe(200);
    expect(restInstance.json.settings).toMatchObject({ maxPasswordAttempts: "3", resourceOwnerType: "RESOURCE_OWNER_TYPE_INSTANCE" });
    const restMember = await rest(server, "GET", "/v2/settings/lockout", member.token);
    expect(restMember.status, restMember.text).toBe(200);
    expect(restMember.json.settings).toMatchObject({ maxPasswordAttempts: "5", maxOtpAttempts: "2", resourceOwnerType: "RESOURCE_OWNER_TYPE_ORG" });
  });
});

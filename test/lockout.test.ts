/**
 * Sign-in through zitadel.session.v2.SessionService and the automatic lockout after wrong
 * passwords: the count, the lock in the same commit as the last wrong password, unlocking,
 * sessions that end with the lock, "0 means never", organization policies over the instance
 * default, concurrent wrong passwords, and (in-process, with a TestClock) lock expiry.
 */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialsCheckErrorSchema } from "../gen/zitadel/message_pb.js";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { sessionClient, userClient, type SessionClient, type UserClient } from "./support/clients.js";
import { query } from "./support/db.js";
import { addHuman, addMachine, addOrg, cli, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startInProcessServer, TestClock } from "./support/in-process.js";
import { startServer, type TestServer } from "./support/server.js";

/** The password addHuman gives its users. */
const RIGHT = "Secr3t-Passw0rd!";
const WRONG = "not-the-Passw0rd!";

const checks = (userId: string, password?: string) => ({
  user: { search: { case: "userId" as const, value: userId } },
  password: password === undefined ? undefined : { password },
});

interface EventLogRow {
  sequence: number;
  type: string;
  actor: string;
  createdAt: number | string;
  payload: string | null;
}

async function eventLog(db: { databaseUrl: string }, userId: string): Promise<EventLogRow[]> {
  return query<EventLogRow>(
    db,
    'select sequence, type, actor, created_at as "createdAt", payload from events where aggregate_id = ? order by sequence',
    [userId],
  );
}

const types = (rows: EventLogRow[]) => rows.map((r) => r.type);

/** A wrong password: InvalidArgument COMMAND-3M0fs with a CredentialsCheckError; returns its failedAttempts. */
async function wrongPassword(call: Promise<unknown>): Promise<number> {
  const err = await expectCode(call, Code.InvalidArgument);
  expect(err.rawMessage).toBe("Password is invalid (COMMAND-3M0fs)");
  const details = err.findDetails(CredentialsCheckErrorSchema);
  expect(details).toHaveLength(1);
  expect(details[0]).toMatchObject({ id: "COMMAND-3M0fs", message: "Password is invalid" });
  return details[0]!.failedAttempts;
}

const expectLocked = (call: Promise<unknown>) => expectZitadelError(call, Code.FailedPrecondition, "COMMAND-JLK35", "User is locked");

async function stateOf(admin: UserClient, userId: string): Promise<UserState> {
  const res = await admin.getUserByID({ userId });
  return res.user!.state;
}

// =======================================================================================
// The real server as a child process; the policy set through the CLI.
// =======================================================================================

describe("lockout against the real server (child process)", () => {
  let server: TestServer;
  let adminOrg: string;
  let login: { userId: string; token: string };

  beforeAll(async () => {
    server = await startServer();
    const [admin] = await query<{ orgId: string }>(server, 'select org_id as "orgId" from users where username = ?', ["admin"]);
    adminOrg = admin!.orgId;
    login = await addMachine(server, adminOrg, "IAM_LOGIN_CLIENT");
  });
  afterAll(() => server?.stop());

  async function setLockout(...args: string[]) {
    const result = await cli(server, "lockout", "set", ...args);
    expect(result.code, result.stderr).toBe(0);
  }

  describe.each(["grpc", "connect-json"] as const)("over %s", (protocol) => {
    let admin: UserClient;
    let sessions: SessionClient;
    beforeAll(() => {
      admin = userClient(protocol, server.baseUrl, server.adminToken);
      sessions = sessionClient(protocol, server.baseUrl, login.token);
    });

    const wrong = (userId: string) => wrongPassword(sessions.createSession({ checks: checks(userId, WRONG) }));
    const right = (userId: string) => sessions.createSession({ checks: checks(userId, RIGHT) });

    it("1. setting 2: two wrong passwords count 1, 2 and lock in the same commit; then even the right one is refused", async () => {
      await setLockout("--max-password-attempts", "2");
      const userId = await addHuman(admin);

      expect(await wrong(userId)).toBe(1);
      expect(await stateOf(admin, userId)).toBe(UserState.ACTIVE);
      expect(await wrong(userId)).toBe(2);
      expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);

      const events = await eventLog(server, userId);
      expect(types(events)).toEqual([
        "user.human.added",
        "user.human.password.check.failed",
        "user.human.password.check.failed",
        "user.locked",
      ]);
      const [, , failed2, locked] = events;
      expect(String(locked!.createdAt), "the lock is stored in the same commit as the 2nd wrong password").toBe(String(failed2!.createdAt));
      expect(locked!.sequence).toBe(failed2!.sequence + 1);
      // The login client made the attempts, so it is the actor of the failures and the lock.
      for (const e of events.slice(1)) expect(e.actor).toBe(login.userId);

      await expectLocked(right(userId));
      // A refused attempt of a locked user records nothing.
      expect(await eventLog(server, userId)).toHaveLength(4);
    });

    it("2. UnlockUser lets the right password through and the count starts from zero; a right password resets it", async () => {
      await setLockout("--max-password-attempts", "2");
      const userId = await addHuman(admin);
      await wrong(userId);
      await wrong(userId);
      expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);

      await admin.unlockUser({ userId });
      expect(await stateOf(admin, userId)).toBe(UserState.ACTIVE);
      const ok = await right(userId);
      expect(ok.sessionId).not.toBe("");
      expect(ok.sessionToken).not.toBe("");

      // Lock again, unlock, and the first wrong password counts as the first.
      expect(await wrong(userId)).toBe(1);
      expect(await wrong(userId)).toBe(2);
      expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
      await admin.unlockUser({ userId });
      expect(await wrong(userId), "unlocking forgives earlier wrong passwords").toBe(1);
      expect(await stateOf(admin, userId)).toBe(UserState.ACTIVE);

      // wrong, right, wrong: the right password resets the count.
      await right(userId);
      expect(await wrong(userId)).toBe(1);
      await right(userId);
      expect(await wrong(userId)).toBe(1);
      expect(await stateOf(admin, userId)).toBe(UserState.ACTIVE);
      const events = types(await eventLog(server, userId));
      expect(events.filter((t) => t === "user.locked")).toHaveLength(2);
      expect(events.at(-1)).toBe("user.human.password.check.failed");
    });

    it("3. a user locked by the policy loses the existing session: GetSession and SetSession answer NotFound", async () => {
      await setLockout("--max-password-attempts", "2");
      const userId = await addHuman(admin);
      const old = await right(userId);
      const before = await sessions.getSession({ sessionId: old.sessionId });
      expect(before.session?.factors?.user?.id).toBe(userId);
      expect(before.session?.factors?.password?.verifiedAt).toBeDefined();

      await wrong(userId);
      await wrong(userId);
      expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);

      await expectZitadelError(sessions.getSession({ sessionId: old.sessionId }), Code.NotFound, "QUERY-SFeaa", "Session does not exist");
      await expectZitadelError(
        sessions.getSession({ sessionId: old.sessionId, sessionToken: old.sessionToken }),
        Code.NotFound,
        "QUERY-SFeaa",
        "Session does not exist",
      );
      await expectCode(sessions.setSession({ sessionId: old.sessionId, checks: { password: { password: RIGHT } } }), Code.NotFound);
      await expectCode(sessions.setSession({ sessionId: old.sessionId }), Code.NotFound);

      // Unlocking does not bring the ended session back.
      await admin.unlockUser({ userId });
      await expectCode(sessions.getSession({ sessionId: old.sessionId }), Code.NotFound);
    });

    it("4. setting 0 means never: 10 wrong passwords do not lock", async () => {
      await setLockout("--max-password-attempts", "0");
      const userId = await addHuman(admin);
      const counts: number[] = [];
      for (let i = 0; i < 10; i++) counts.push(await wrong(userId));
      expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      expect(await stateOf(admin, userId)).toBe(UserState.ACTIVE);
      expect(types(await eventLog(server, userId))).not.toContain("user.locked");
      await right(userId);
    });

    it("5. an organization's own policy overrides the instance default; an organization without one falls back to it", async () => {
      await setLockout("--max-password-attempts", "2");
      const [stricter, never, plain] = [await addOrg(server), await addOrg(server), await addOrg(server)];
      await setLockout("--org", stricter, "--max-password-attempts", "4");
      await setLockout("--org", never, "--max-password-attempts", "0");

      const inStricter = await addHuman(admin, { orgId: stricter });
      for (const n of [1, 2, 3]) expect(await wrong(inStricter)).toBe(n);
      expect(await stateOf(admin, inStricter), "the org's 4 applies, not the instance's 2").toBe(UserState.ACTIVE);
      expect(await wrong(inStricter)).toBe(4);
      expect(await stateOf(admin, inStricter)).toBe(UserState.LOCKED);

      const inNever = await addHuman(admin, { orgId: never });
      for (let n = 1; n <= 5; n++) expect(await wrong(inNever)).toBe(n);
      expect(await stateOf(admin, inNever), "the org's 0 (never) applies, not the instance's 2").toBe(UserState.ACTIVE);

      for (const userId of [await addHuman(admin, { orgId: plain }), await addHuman(admin)]) {
        expect(await wrong(userId)).toBe(1);
        expect(await wrong(userId)).toBe(2);
        expect(await stateOf(admin, userId), "no policy of its own: the instance's 2").toBe(UserState.LOCKED);
      }
    }, 60_000); // five CLI runs, ~1.5 s each

    it("6. 20 concurrent wrong passwords with setting 3: locked once, every failure counted once", async () => {
      await setLockout("--max-password-attempts", "3");
      const userId = await addHuman(admin);
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () => sessions.createSession({ checks: checks(userId, WRONG) })),
      );
      expect(results.every((r) => r.status === "rejected"), "no wrong password may succeed").toBe(true);

      const invalid: number[] = [];
      let locked = 0;
      for (const r of results) {
        const err = (r as PromiseRejectedResult).reason;
        if (err?.code === Code.InvalidArgument) {
          invalid.push(await wrongPassword(Promise.reject(err)));
        } else {
          await expectLocked(Promise.reject(err));
          locked++;
        }
      }
      expect(invalid.length + locked).toBe(20);

      expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
      const events = types(await eventLog(server, userId));
      expect(events.filter((t) => t === "user.locked")).toHaveLength(1);
      expect(events.filter((t) => t === "user.human.password.check.failed")).toHaveLength(invalid.length);
      expect(new Set(invalid).size, `failedAttempts reported: ${invalid.join(",")}`).toBe(invalid.length);
      expect([...invalid].sort((a, b) => a - b)).toEqual([1, 2, 3]);
    });
  });

  describe("over REST", () => {
    interface Answer {
      status: number;
      text: string;
      json: any;
    }
    async function rest(method: string, path: string, token: string, body?: unknown): Promise<Answer> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      if (body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${server.baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        json = undefined;
      }
      return { status: res.status, text, json };
    }
    const restChecks = (userId: string | undefined, password: string) => ({
      checks: { ...(userId ? { user: { userId } } : {}), password: { password } },
    });
    const invalidPassword = (failedAttempts: number) => ({
      code: 3,
      message: "Password is invalid (COMMAND-3M0fs)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.CredentialsCheckError", id: "COMMAND-3M0fs", message: "Password is invalid", failedAttempts },
      ],
    });
    const userLocked = {
      code: 9,
      message: "User is locked (COMMAND-JLK35)",
      details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-JLK35", message: "User is locked" }],
    };
    const restState = async (userId: string) => (await rest("GET", `/v2/users/${userId}`, server.adminToken)).json.user.state;

    it("POST /v2/sessions counts, locks and refuses; POST /v2/users/{id}/unlock lets the right password in", async () => {
      await setLockout("--max-password-attempts", "2");
      const admin = userClient("connect-json", server.baseUrl, server.adminToken);
      const userId = await addHuman(admin);

      const first = await rest("POST", "/v2/sessions", login.token, restChecks(userId, WRONG));
      expect(first.status, first.text).toBe(400);
      expect(first.json).toEqual(invalidPassword(1));
      const second = await rest("POST", "/v2/sessions", login.token, restChecks(userId, WRONG));
      expect(second.status, second.text).toBe(400);
      expect(second.json).toEqual(invalidPassword(2));
      expect(await restState(userId)).toBe("USER_STATE_LOCKED");

      const refused = await rest("POST", "/v2/sessions", login.token, restChecks(userId, RIGHT));
      expect(refused.status, refused.text).toBe(400);
      expect(refused.json).toEqual(userLocked);

      const unlock = await rest("POST", `/v2/users/${userId}/unlock`, server.adminToken, {});
      expect(unlock.status, unlock.text).toBe(200);
      expect(await restState(userId)).toBe("USER_STATE_ACTIVE");
      const ok = await rest("POST", "/v2/sessions", login.token, restChecks(userId, RIGHT));
      expect(ok.status, ok.text).toBe(201); // CreateSession answers 201 Created, like ZITADEL
      expect(typeof ok.json.sessionId).toBe("string");
      expect(ok.json.sessionId).not.toBe("");
      expect(typeof ok.json.sessionToken).toBe("string");

      // The count started from zero after the unlock.
      const again = await rest("POST", "/v2/sessions", login.token, restChecks(userId, WRONG));
      expect(again.json).toEqual(invalidPassword(1));
      expect(await restState(userId)).toBe("USER_STATE_ACTIVE");
    });

    it("PATCH /v2/sessions/{id} with wrong passwords counts and locks; the session is then gone (404)", async () => {
      await setLockout("--max-password-attempts", "2");
      const admin = userClient("connect-json", server.baseUrl, server.adminToken);
      const userId = await addHuman(admin);
      const created = await rest("POST", "/v2/sessions", login.token, { checks: { user: { userId } } });
      expect(created.status, created.text).toBe(201);
      const sessionId = created.json.sessionId as string;

      const first = await rest("PATCH", `/v2/sessions/${sessionId}`, login.token, restChecks(undefined, WRONG));
      expect(first.status, first.text).toBe(400);
      expect(first.json).toEqual(invalidPassword(1));
      const ok = await rest("PATCH", `/v2/sessions/${sessionId}`, login.token, restChecks(undefined, RIGHT));
      expect(ok.status, ok.text).toBe(200);
      for (const n of [1, 2]) {
        const res = await rest("PATCH", `/v2/sessions/${sessionId}`, login.token, restChecks(undefined, WRONG));
        expect(res.status, res.text).toBe(400);
        expect(res.json, "the right password reset the count").toEqual(invalidPassword(n));
      }
      expect(await restState(userId)).toBe("USER_STATE_LOCKED");

      const patched = await rest("PATCH", `/v2/sessions/${sessionId}`, login.token, restChecks(undefined, RIGHT));
      expect(patched.status, patched.text).toBe(404);
      expect(patched.json.code).toBe(5);
      const read = await rest("GET", `/v2/sessions/${sessionId}`, login.token);
      expect(read.status, read.text).toBe(404);

      const events = types(await eventLog(server, userId));
      expect(events.slice(-3)).toEqual(["user.human.password.check.failed", "user.human.password.check.failed", "user.locked"]);
    });
  });
});

// =======================================================================================
// In-process with a TestClock: lock expiry without sleeping.
// =======================================================================================

describe("lock expiry (in-process server, TestClock)", () => {
  const clock = new TestClock(Date.parse("2030-01-01T00:00:00.000Z"));
  let srv: Awaited<ReturnType<typeof startInProcessServer>>;
  let db: { databaseUrl: string };
  let admin: UserClient;
  let sessions: SessionClient;

  beforeAll(async () => {
    srv = await startInProcessServer(clock);
    // The in-process store's SQLite file, read through a second (read-only) connection.
    db = { databaseUrl: srv.databaseUrl };
    const owner = await srv.apps.users.authenticate(`Bearer ${srv.adminToken}`);
    const login = await srv.apps.users.addMachineUser(owner.orgId, "login-client", "IAM_LOGIN_CLIENT");
    admin = userClient("connect-json", srv.baseUrl, srv.adminToken);
    sessions = sessionClient("connect-json", srv.baseUrl, login.token);
  });
  afterAll(() => srv?.stop());

  const wrong = (userId: string) => wrongPassword(sessions.createSession({ checks: checks(userId, WRONG) }));
  const right = (userId: string) => sessions.createSession({ checks: checks(userId, RIGHT) });
  async function lockByPolicy(userId: string) {
    expect(await wrong(userId)).toBe(1);
    expect(await wrong(userId)).toBe(2);
    expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
  }
  async function lockedIds(): Promise<string[]> {
    const res = await admin.listUsers({ queries: [{ query: { case: "stateQuery", value: { state: UserState.LOCKED } } }] });
    return res.result.map((u) => u.userId);
  }

  it("7. a policy lock with a duration lasts 600 s: locked at 599 s, ended at 601 s by SYSTEM, by a load or by the sweep", async () => {
    await srv.apps.settings.setLockout("instance", { maxPasswordAttempts: 2, maxOtpAttempts: 0, lockDurationSeconds: 600 });
    const [a, b, c] = [await addHuman(admin), await addHuman(admin), await addHuman(admin)];
    const lockedAt = clock.now().getTime();
    await lockByPolicy(a);
    await lockByPolicy(b);
    await lockByPolicy(c);
    const lockEvent = (await eventLog(db, a)).at(-1)!;
    expect(lockEvent.type).toBe("user.locked");
    expect(JSON.parse(lockEvent.payload!)).toMatchObject({ cause: "policy", expiresAt: new Date(lockedAt + 600_000).toISOString() });

    clock.advance(599);
    expect(await stateOf(admin, a)).toBe(UserState.LOCKED);
    await expectLocked(right(a));
    await expectLocked(right(c));
    expect(await srv.apps.users.expireLocks(), "nothing has expired at 599 s").toBe(0);
    expect(await lockedIds()).toEqual(expect.arrayContaining([a, b, c]));
    expect(await stateOf(admin, b)).toBe(UserState.LOCKED);

    clock.advance(2);
    // a: the next GetUserByID sees it ACTIVE; then the right password signs in.
    expect(await stateOf(admin, a)).toBe(UserState.ACTIVE);
    const signedIn = await right(a);
    expect(signedIn.sessionId).not.toBe("");
    // c: the next CreateSession itself sees the lock ended.
    expect((await right(c)).sessionId).not.toBe("");

    const eventsA = await eventLog(db, a);
    expect(types(eventsA).slice(-3)).toEqual(["user.locked", "user.unlocked", "user.human.password.check.succeeded"]);
    const unlocked = eventsA.at(-2)!;
    expect(unlocked.actor).toBe("SYSTEM");
    expect(Number(unlocked.createdAt)).toBe(lockedAt + 601_000);
    expect((await eventLog(db, c)).find((e) => e.type === "user.unlocked")?.actor).toBe("SYSTEM");

    // b: nobody loaded it; the sweep ends its lock.
    expect(types(await eventLog(db, b))).not.toContain("user.unlocked");
    expect(await srv.apps.users.expireLocks(), "the sweep ends b's lock (a's and c's were ended already)").toBe(1);
    const unlockedB = (await eventLog(db, b)).at(-1)!;
    expect(unlockedB).toMatchObject({ type: "user.unlocked", actor: "SYSTEM" });
    const stillLocked = await lockedIds();
    for (const id of [a, b, c]) expect(stillLocked).not.toContain(id);
    expect(await stateOf(admin, b)).toBe(UserState.ACTIVE);
    expect(types(await eventLog(db, b)).filter((t) => t === "user.unlocked"), "one unlock, not two").toHaveLength(1);
    // The count starts from zero after the lock ended.
    expect(await wrong(b)).toBe(1);
    expect(await stateOf(admin, b)).toBe(UserState.ACTIVE);
  });

  it("8. an administrator's LockUser never expires, even with a lock duration in the policy", async () => {
    await srv.apps.settings.setLockout("instance", { maxPasswordAttempts: 2, maxOtpAttempts: 0, lockDurationSeconds: 600 });
    const userId = await addHuman(admin);
    await admin.lockUser({ userId });
    clock.advance(10 * 24 * 3600);
    await srv.apps.users.expireLocks();
    expect(await lockedIds()).toContain(userId);
    expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
    await expectLocked(right(userId));
    expect(types(await eventLog(db, userId))).toEqual(["user.human.added", "user.locked"]);
  });

  it("8b. an administrator's lock after an unlocked policy lock does not inherit the old expiry", async () => {
    await srv.apps.settings.setLockout("instance", { maxPasswordAttempts: 2, maxOtpAttempts: 0, lockDurationSeconds: 600 });
    const userId = await addHuman(admin);
    await lockByPolicy(userId);
    await admin.unlockUser({ userId });
    await admin.lockUser({ userId });
    clock.advance(3600);
    await srv.apps.users.expireLocks();
    expect(await lockedIds()).toContain(userId);
    expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
    await expectLocked(right(userId));
    expect(types(await eventLog(db, userId)).slice(-3)).toEqual(["user.locked", "user.unlocked", "user.locked"]);
  });

  it("9. a policy lock without a duration never expires", async () => {
    await srv.apps.settings.setLockout("instance", { maxPasswordAttempts: 2, maxOtpAttempts: 0 });
    const userId = await addHuman(admin);
    await lockByPolicy(userId);
    clock.advance(365 * 24 * 3600);
    await srv.apps.users.expireLocks();
    expect(await lockedIds()).toContain(userId);
    expect(await stateOf(admin, userId)).toBe(UserState.LOCKED);
    await expectLocked(right(userId));
    expect(types(await eventLog(db, userId))).not.toContain("user.unlocked");
  });
});

/**
 * Sessions: created with ZITADEL's user check and an optional password check, set, read and
 * deleted; a user who can no longer sign in loses them and cannot open new ones.
 */
import { describe, expect, it } from "vitest";
import {
  ADMIN, after, deactivated, given, humanAdded, locked, lockedByPolicy, lockout, LOGIN, OTHER_ORG, OTHER_USER, PASSWORD, passwordFailed,
  passwordSucceeded, rejects, removed, sessionOpened, signIn, T0, unlocked, USER, WRONG, type World,
} from "../support/given.js";

const first = (world: World) => world.sessions[0]!;
const getSession = (world: World, token?: string, caller = LOGIN) => world.signIn.getSession(first(world), token, caller);
const setPassword = (password: string) => (world: World) => world.signIn.setSession(first(world), { password }, LOGIN);
const VIEWER = { userId: "300000000000000009", orgId: ADMIN.orgId, grants: [{ role: "ORG_OWNER_VIEWER" as const, orgId: ADMIN.orgId }] };
const SESSION_GONE = ["NotFound", "QUERY-SFeaa"] as const;

describe("CreateSession", () => {
  it("with the user check only: no event, a session without a password factor", async () => {
    const then = await given(humanAdded(), after(5)).when(signIn());
    then.events();
    const { session } = await then.world.signIn.getSession(then.result.sessionId, undefined, LOGIN);
    expect(session).toMatchObject({ userId: USER, sequence: 1, userCheckedAt: new Date(T0 + 5000), passwordCheckedAt: undefined });
  });

  it("with the right password: a succeeded check, and the session has the password factor", async () => {
    const then = await given(humanAdded()).when(signIn(PASSWORD));
    then.events(passwordSucceeded());
    const { session } = await then.world.signIn.getSession(then.result.sessionId, undefined, LOGIN);
    expect(session.passwordCheckedAt).toEqual(new Date(T0));
  });

  it("with a wrong password: a failed check, and no session", async () => {
    const then = await given(humanAdded()).when(signIn(WRONG));
    then.error("InvalidArgument", "COMMAND-3M0fs", { failedAttempts: 1 });
    then.events(passwordFailed());
  });

  it("finds the user by login name; an unknown one is NotFound", async () => {
    const known = await given(humanAdded()).when(signIn(PASSWORD, { user: { loginName: `gigi-${USER}` } }));
    known.events(passwordSucceeded());
    const unknown = await given(humanAdded()).when(signIn(PASSWORD, { user: { loginName: "nobody" } }));
    unknown.error("NotFound", "QUERY-Dfbg2");
  });

  it("asks for the user id when the login name is used in several organizations", async () => {
    const twice = [humanAdded({ username: "gigi" }), humanAdded({ id: OTHER_USER, org: OTHER_ORG, username: "gigi" })];
    const then = await given(twice).when(signIn(PASSWORD, { user: { loginName: "gigi" } }));
    then.error("InvalidArgument", undefined);
    then.events();
  });

  it.each([
    ["locked", [locked()], "FailedPrecondition", "COMMAND-JLK35"],
    ["locked by the policy", [lockedByPolicy()], "FailedPrecondition", "COMMAND-JLK35"],
    ["deactivated", [deactivated()], "FailedPrecondition", "SESSION-Gj4ko"],
    ["deleted", [removed()], "NotFound", "QUERY-Dfbg2"],
    ["unknown", [], "NotFound", "QUERY-Dfbg2"],
  ] as const)("refuses a user who is %s, with or without a password, and records nothing", async (_state, history, kind, id) => {
    for (const password of [undefined, PASSWORD]) {
      const then = await given(history.length ? humanAdded() : [], [...history]).when(signIn(password));
      then.error(kind, id);
      then.events();
    }
  });

  it("needs session.write", async () => {
    const then = await given(humanAdded()).when((world) => world.signIn.createSession({ user: { userId: USER }, password: PASSWORD }, VIEWER));
    then.error("PermissionDenied", "AUTH-AWfge");
    then.events();
  });

  it("with a lifetime: the session is gone when it is up", async () => {
    const then = await given(humanAdded(), sessionOpened({ lifetimeSeconds: 60 }), after(60)).when((world) => getSession(world));
    then.error(...SESSION_GONE);
  });
});

describe("SetSession", () => {
  it("adds a password check with a new sequence", async () => {
    const then = await given(humanAdded(), sessionOpened(), after(5)).when(setPassword(PASSWORD));
    then.events(passwordSucceeded());
    expect(then.result.details.sequence).toBe(2);
    const { session } = await getSession(then.world);
    expect(session).toMatchObject({ sequence: 2, passwordCheckedAt: new Date(T0 + 5000), userCheckedAt: new Date(T0) });
  });

  it("with a wrong password: a failed check, and the session stays as it was", async () => {
    const then = await given(humanAdded(), sessionOpened()).when(setPassword(WRONG));
    then.error("InvalidArgument", "COMMAND-3M0fs", { failedAttempts: 1 });
    then.events(passwordFailed());
    expect((await getSession(then.world)).session).toMatchObject({ sequence: 1, passwordCheckedAt: undefined });
  });

  it("refuses a user check naming another user", async () => {
    const then = await given(humanAdded(), humanAdded({ id: OTHER_USER }), sessionOpened()).when((world) =>
      world.signIn.setSession(first(world), { user: { userId: OTHER_USER } }, LOGIN),
    );
    then.error("InvalidArgument", undefined);
  });

  it("with the wrong password that locks: the session ends with the lock", async () => {
    const then = await given(lockout(2), humanAdded(), sessionOpened(), passwordFailed()).when(setPassword(WRONG));
    then.events(passwordFailed(), lockedByPolicy());
    await rejects(getSession(then.world), ...SESSION_GONE);
  });
});

describe("GetSession and DeleteSession", () => {
  it("reads with the session's own token instead of the permission", async () => {
    const then = await given(humanAdded()).when(signIn());
    const { sessionId, sessionToken } = then.result;
    expect((await then.world.signIn.getSession(sessionId, sessionToken, VIEWER)).session.id).toBe(sessionId);
    await rejects(then.world.signIn.getSession(sessionId, undefined, VIEWER), "PermissionDenied", "AUTH-AWfge");
    await rejects(then.world.signIn.getSession(sessionId, "not-the-token", VIEWER), "PermissionDenied", "AUTH-AWfge");
  });

  it("deletes: the session is then gone for every call", async () => {
    const then = await given(humanAdded(), sessionOpened()).when((world) => world.signIn.deleteSession(first(world), undefined, LOGIN));
    expect(then.result.sequence).toBe(2);
    then.events();
    await rejects(getSession(then.world), ...SESSION_GONE);
    await rejects(setPassword(PASSWORD)(then.world), ...SESSION_GONE);
    await rejects(then.world.signIn.deleteSession(first(then.world), undefined, LOGIN), ...SESSION_GONE);
  });
});

describe("a user who can no longer sign in loses every session", () => {
  it.each([
    ["locked", "lock"],
    ["deactivated", "deactivate"],
    ["deleted", "delete"],
  ] as const)("%s: the sessions are gone", async (_state, command) => {
    const then = await given(humanAdded(), sessionOpened(), sessionOpened()).when((world) => world.users.changeState(command, USER, ADMIN));
    for (const sessionId of then.world.sessions) await rejects(then.world.signIn.getSession(sessionId, undefined, LOGIN), ...SESSION_GONE);
  });

  it("other users' sessions live on", async () => {
    const then = await given(humanAdded(), humanAdded({ id: OTHER_USER }), sessionOpened({ of: OTHER_USER })).when((world) =>
      world.users.changeState("lock", USER, ADMIN),
    );
    expect((await getSession(then.world)).session.userId).toBe(OTHER_USER);
  });

  it("unlocking does not bring them back", async () => {
    const then = await given(humanAdded(), sessionOpened(), locked()).when((world) => world.users.changeState("unlock", USER, ADMIN));
    then.events(unlocked());
    await rejects(getSession(then.world), ...SESSION_GONE);
  });
});

/**
 * zus.user.v1.UserRecordService.GetLockStatus (EXTENSIONS.md §1) over each protocol and REST
 * against a real server: locked or not, since when, by whom, why, until when, the wrong passwords
 * counted, for an administrator's lock, the lockout policy's and one the system ended; NotFound
 * for strangers.
 */
import { Code, createClient } from "@connectrpc/connect";
import { durationFromMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockCause, UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { PROTOCOLS, sessionClient, transport, userClient, type Protocol } from "./support/clients.js";
import { addHuman, addMachine, addOrg, cli, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let orgId: string;
let owner: { userId: string; token: string; username: string };
beforeAll(async () => {
  server = await startServer();
  orgId = await addOrg(server);
  const username = `owner-${Date.now()}`;
  const added = await cli(server, "machine", "add", "--org", orgId, "--username", username, "--role", "ORG_OWNER");
  const [userId, token] = added.stdout.trim().split(" ");
  owner = { userId: userId!, token: token!, username };
});
afterAll(() => server?.stop());

const records = (protocol: Protocol, token = owner.token) => createClient(UserRecordService, transport(protocol, server.baseUrl, token));
const users = (protocol: Protocol) => userClient(protocol, server.baseUrl, owner.token);
const WRONG = { password: "not-the-Passw0rd!" };

describe.each(PROTOCOLS)("over %s", (protocol) => {
  it("says an unlocked user is not locked, with the wrong passwords counted so far", async () => {
    const userId = await addHuman(users(protocol), { orgId });
    const checks = { user: { search: { case: "userId" as const, value: userId } }, password: WRONG };
    await expectCode(sessionClient(protocol, server.baseUrl, server.adminToken).createSession({ checks }), Code.InvalidArgument);
    const status = await records(protocol).getLockStatus({ userId });
    expect(status).toMatchObject({ locked: false, failedPasswordAttempts: 1, reason: "", cause: LockCause.UNSPECIFIED });
    expect(status.since).toBeUndefined();
    expect(status.actor).toBeUndefined();
  });

  it("gives an administrator's lock: since, by whom (id and name), why and until when", async () => {
    const userId = await addHuman(users(protocol), { orgId });
    await records(protocol).lockUser({ userId, reason: "phished", end: { case: "duration", value: durationFromMs(3_600_000) } });
    const [event] = (await records(protocol).listUserEvents({ userId, pageSize: 1 })).events;
    const status = await records(protocol).getLockStatus({ userId });
    expect(status).toMatchObject({ locked: true, cause: LockCause.ADMIN, reason: "phished", failedPasswordAttempts: 0 });
    expect(status.actor).toMatchObject({ id: owner.userId, name: owner.username });
    expect(timestampDate(status.since!)).toEqual(timestampDate(event!.creationDate!));
    expect(timestampDate(status.expiresAt!)).toEqual(timestampDate(event!.lock!.expiresAt!));
    // ZITADEL's LockUser: no reason, no end.
    await users(protocol).unlockUser({ userId });
    await users(protocol).lockUser({ userId });
    const plain = await records(protocol).getLockStatus({ userId });
    expect(plain).toMatchObject({ locked: true, cause: LockCause.ADMIN, reason: "" });
    expect(plain.expiresAt).toBeUndefined();
  });

  it("answers NotFound to a caller of another organization, and for no user", async () => {
    const stranger = await addMachine(server, await addOrg(server), "ORG_OWNER");
    const userId = await addHuman(users(protocol), { orgId });
    for (const id of [userId, "404404404"]) {
      await expectZitadelError(records(protocol, stranger.token).getLockStatus({ userId: id }), Code.NotFound, "QUERY-Dfbg2", "User could not be found");
    }
    const err = await expectCode(records(protocol).getLockStatus({ userId: "" }), Code.InvalidArgument);
    expect(err.rawMessage).toBe("invalid GetLockStatusRequest.UserId: value length must be between 1 and 200 runes, inclusive");
  });
});

describe("a lock by the lockout policy", () => {
  it("names the policy as the cause, the sign-in client as the actor, and the attempts that locked", async () => {
    expect((await cli(server, "lockout", "set", "--org", orgId, "--max-password-attempts", "2", "--lock-duration", "1h")).code).toBe(0);
    const userId = await addHuman(users("grpc"), { orgId });
    const checks = { user: { search: { case: "userId" as const, value: userId } }, password: WRONG };
    const sessions = sessionClient("grpc", server.baseUrl, server.adminToken);
    for (let i = 0; i < 2; i++) await expectCode(sessions.createSession({ checks }), Code.InvalidArgument);
    const status = await records("grpc").getLockStatus({ userId });
    expect(status).toMatchObject({ locked: true, cause: LockCause.LOCKOUT_POLICY, reason: "", failedPasswordAttempts: 2 });
    expect(status.actor!.name).toBe("admin");
    // The end counts from the password check, a millisecond or so before the lock event's time.
    expect(Math.abs(timestampDate(status.expiresAt!).getTime() - timestampDate(status.since!).getTime() - 3_600_000)).toBeLessThan(100);
    await cli(server, "lockout", "set", "--org", orgId, "--max-password-attempts", "0");
  });
});

describe("over REST", () => {
  it("GET /zus/v1/users/{user_id}/lock, beside POST on the same path", async () => {
    const userId = await addHuman(users("connect-json"), { orgId });
    const headers = { authorization: `Bearer ${owner.token}` };
    await fetch(`${server.baseUrl}/zus/v1/users/${userId}/lock`, { method: "POST", headers, body: JSON.stringify({ reason: "REST" }) });
    const res = await fetch(`${server.baseUrl}/zus/v1/users/${userId}/lock`, { headers });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ locked: true, actor: { id: owner.userId, name: owner.username }, cause: "LOCK_CAUSE_ADMIN", reason: "REST" });
    const put = await fetch(`${server.baseUrl}/zus/v1/users/${userId}/lock`, { method: "PUT", headers });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("POST, GET");
  });
});

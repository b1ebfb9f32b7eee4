/** Authentication and authorization (SPEC §6) against a real server: the token and the refusals over each protocol, the roles' rules once. */
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { PROTOCOLS, userClient, type Protocol, type UserClient } from "./support/clients.js";
import { addHuman, addMachine, addOrg, expectCode, expectZitadelError } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const TOKEN_INVALID = ["AUTH-7fs1e", "Token is invalid"] as const;
const NO_PERMISSION = ["AUTH-AWfge", "No matching permissions found"] as const;
const NOT_FOUND = "User could not be found";

let server: TestServer;
let orgA: string;
let orgB: string;
/** Machine users with one role each; shared by the protocols, never locked or removed. */
let ownerA: { userId: string; token: string };
let ownerB: { userId: string; token: string };
let managerA: { userId: string; token: string };
let viewerA: { userId: string; token: string };

beforeAll(async () => {
  server = await startServer();
  orgA = await addOrg(server);
  orgB = await addOrg(server);
  ownerA = await addMachine(server, orgA, "ORG_OWNER");
  ownerB = await addMachine(server, orgB, "ORG_OWNER");
  managerA = await addMachine(server, orgA, "ORG_USER_MANAGER");
  viewerA = await addMachine(server, orgA, "ORG_OWNER_VIEWER");
});
afterAll(() => server?.stop());

/** Asserts Unauthenticated "auth header missing" (ZITADEL sends no error id for it). */
async function expectHeaderMissing(call: Promise<unknown>) {
  const err = await expectCode(call, Code.Unauthenticated);
  expect(err.rawMessage).toBe("auth header missing");
}

async function stateOf(admin: UserClient, userId: string) {
  return (await admin.getUserByID({ userId })).user!.state;
}

/** Clients over one protocol: as the admin, or with any token (or none). */
const clientsOver = (protocol: Protocol) => ({
  admin: () => userClient(protocol, server.baseUrl, server.adminToken),
  as: (token: string | undefined) => userClient(protocol, server.baseUrl, token),
});

/** What each protocol carries itself: the token, and the errors of a refused call. */
describe.each(PROTOCOLS)("over %s", (protocol: Protocol) => {
  const { admin, as } = clientsOver(protocol);

  it("refuses every call without an Authorization header", async () => {
    const userId = await addHuman(admin(), { orgId: orgA });
    const anonymous = as(undefined);
    await expectHeaderMissing(anonymous.lockUser({ userId }));
    await expectHeaderMissing(anonymous.unlockUser({ userId }));
    await expectHeaderMissing(anonymous.deactivateUser({ userId }));
    await expectHeaderMissing(anonymous.reactivateUser({ userId }));
    await expectHeaderMissing(anonymous.deleteUser({ userId }));
    await expectHeaderMissing(anonymous.getUserByID({ userId }));
    await expectHeaderMissing(anonymous.listUsers({}));
    await expectHeaderMissing(addHuman(anonymous, { orgId: orgA }));
    // Authentication comes before input validation.
    await expectHeaderMissing(anonymous.lockUser({ userId: "" }));
    expect(await stateOf(admin(), userId)).toBe(UserState.ACTIVE);
  });

  it("refuses a wrong token with AUTH-7fs1e", async () => {
    const userId = await addHuman(admin(), { orgId: orgA });
    for (const token of ["not-a-real-token", `${server.adminToken}x`, server.adminToken.slice(0, -1)]) {
      const stranger = as(token);
      await expectZitadelError(stranger.lockUser({ userId }), Code.Unauthenticated, ...TOKEN_INVALID);
      await expectZitadelError(stranger.getUserByID({ userId }), Code.Unauthenticated, ...TOKEN_INVALID);
      await expectZitadelError(stranger.listUsers({}), Code.Unauthenticated, ...TOKEN_INVALID);
      // Authentication comes before input validation.
      await expectZitadelError(stranger.lockUser({ userId: "" }), Code.Unauthenticated, ...TOKEN_INVALID);
    }
    expect(await stateOf(admin(), userId)).toBe(UserState.ACTIVE);
  });

  it("hides users of another organization behind the same NotFound as a missing user", async () => {
    const userId = await addHuman(admin(), { orgId: orgA });
    const missing = "123456789012345678";
    const outsider = as(ownerB.token);

    // Each call answers with its own id, for a hidden user as for one that does not exist.
    for (const id of [userId, missing]) {
      await expectZitadelError(outsider.lockUser({ userId: id }), Code.NotFound, "COMMAND-450yxuqrh1", NOT_FOUND);
      await expectZitadelError(outsider.unlockUser({ userId: id }), Code.NotFound, "COMMAND-x377t913pw", NOT_FOUND);
      await expectZitadelError(outsider.deactivateUser({ userId: id }), Code.NotFound, "COMMAND-5gp2p62iin", NOT_FOUND);
      await expectZitadelError(outsider.reactivateUser({ userId: id }), Code.NotFound, "COMMAND-9hy5kzbuk6", NOT_FOUND);
      await expectZitadelError(outsider.deleteUser({ userId: id }), Code.NotFound, "COMMAND-bd4ir1mblj", NOT_FOUND);
    }

    // GetUserByID: indistinguishable from a user that does not exist.
    const hidden = await expectCode(outsider.getUserByID({ userId }), Code.NotFound);
    const absent = await expectCode(outsider.getUserByID({ userId: missing }), Code.NotFound);
    expect(hidden.rawMessage).toBe(absent.rawMessage);
    expect(hidden.rawMessage).toMatch(/^User could not be found \(/);
    await expectCode(as(managerA.token).getUserByID({ userId: ownerB.userId }), Code.NotFound);

    // ListUsers only returns what the caller may read.
    const listed = await outsider.listUsers({});
    const ids = listed.result.map((u) => u.userId);
    expect(ids).not.toContain(userId);
    expect(ids).toContain(ownerB.userId);
    for (const user of listed.result) expect(user.details!.resourceOwner).toBe(orgB);

    const after = (await admin().getUserByID({ userId })).user!;
    expect(after.state).toBe(UserState.ACTIVE);
    expect(after.details!.sequence).toBe(1n);
  });

  it("lets ORG_OWNER_VIEWER read but not change, even before the state check", async () => {
    const viewer = as(viewerA.token);
    const userId = await addHuman(admin(), { orgId: orgA });

    const read = await viewer.getUserByID({ userId });
    expect(read.user!.userId).toBe(userId);
    expect(read.user!.state).toBe(UserState.ACTIVE);
    expect(read.details!.resourceOwner).toBe(orgA);
    expect((await viewer.listUsers({})).result.map((u) => u.userId)).toContain(userId);

    await expectZitadelError(viewer.lockUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(viewer.deactivateUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(viewer.deleteUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    // Unlock of an active user: permission is checked before the state precondition (SPEC §8.1).
    await expectZitadelError(viewer.unlockUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(viewer.reactivateUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);

    await admin().lockUser({ userId });
    await expectZitadelError(viewer.lockUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(viewer.unlockUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    const after = (await admin().getUserByID({ userId })).user!;
    expect(after.state).toBe(UserState.LOCKED);
    expect(after.details!.sequence).toBe(2n);
  });
});

/** Who may do what: the rules are the app's and the protocols answer them alike, so once, over gRPC. */
describe("over grpc", () => {
  const { admin, as } = clientsOver("grpc");

  it("refuses a machine user's token while it is locked, deactivated or deleted", async () => {
    const bot = await addMachine(server, orgA, "ORG_OWNER");
    const botClient = as(bot.token);
    const works = async () => {
      const self = await botClient.getUserByID({ userId: bot.userId });
      expect(self.user!.userId).toBe(bot.userId);
    };
    const refused = () => expectZitadelError(botClient.getUserByID({ userId: bot.userId }), Code.Unauthenticated, ...TOKEN_INVALID);

    await works();

    await admin().lockUser({ userId: bot.userId });
    await refused();
    // Refused for a write too, not just for reads.
    await expectZitadelError(botClient.unlockUser({ userId: bot.userId }), Code.Unauthenticated, ...TOKEN_INVALID);
    await admin().unlockUser({ userId: bot.userId });
    await works();

    await admin().deactivateUser({ userId: bot.userId });
    await refused();
    await admin().reactivateUser({ userId: bot.userId });
    await works();

    // Locked and then deactivated: reactivating keeps the lock, so the token stays refused.
    await admin().lockUser({ userId: bot.userId });
    await admin().deactivateUser({ userId: bot.userId });
    await admin().reactivateUser({ userId: bot.userId });
    expect(await stateOf(admin(), bot.userId)).toBe(UserState.LOCKED);
    await refused();
    await admin().unlockUser({ userId: bot.userId });
    await works();

    await admin().deleteUser({ userId: bot.userId });
    await refused();
    await expectZitadelError(botClient.listUsers({}), Code.Unauthenticated, ...TOKEN_INVALID);
  });

  it("lets ORG_USER_MANAGER change state but not delete; ORG_OWNER deletes", async () => {
    const manager = as(managerA.token);
    const owner = as(ownerA.token);
    const userId = await addHuman(admin(), { orgId: orgA });

    const locked = await manager.lockUser({ userId });
    expect(locked.details!.sequence).toBe(2n);
    expect(locked.details!.resourceOwner).toBe(orgA);
    expect(await stateOf(admin(), userId)).toBe(UserState.LOCKED);
    const unlocked = await manager.unlockUser({ userId });
    expect(unlocked.details!.sequence).toBe(3n);
    await manager.deactivateUser({ userId });
    await manager.reactivateUser({ userId });
    expect(await stateOf(admin(), userId)).toBe(UserState.ACTIVE);

    await expectZitadelError(manager.deleteUser({ userId }), Code.PermissionDenied, ...NO_PERMISSION);
    expect(await stateOf(admin(), userId)).toBe(UserState.ACTIVE);

    // A manager of org A has no rights in org B.
    const userB = await addHuman(admin(), { orgId: orgB });
    await expectZitadelError(manager.lockUser({ userId: userB }), Code.NotFound, "COMMAND-450yxuqrh1", NOT_FOUND);

    const deleted = await owner.deleteUser({ userId });
    expect(deleted.details!.sequence).toBe(6n);
    expect(deleted.details!.resourceOwner).toBe(orgA);
    await expectCode(admin().getUserByID({ userId }), Code.NotFound);
    await expectZitadelError(owner.deleteUser({ userId }), Code.NotFound, "COMMAND-bd4ir1mblj", NOT_FOUND);
  });

  it("lets a caller without write permission lock itself, after which its token is refused", async () => {
    const self = await addMachine(server, orgA, "ORG_OWNER_VIEWER");
    const client = as(self.token);

    // Only locking oneself is free: the other changes still need a permission.
    await expectZitadelError(client.deactivateUser({ userId: self.userId }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(client.deleteUser({ userId: self.userId }), Code.PermissionDenied, ...NO_PERMISSION);

    const locked = await client.lockUser({ userId: self.userId });
    expect(locked.details!.sequence).toBe(2n);
    expect(locked.details!.resourceOwner).toBe(orgA);

    await expectZitadelError(client.getUserByID({ userId: self.userId }), Code.Unauthenticated, ...TOKEN_INVALID);
    await expectZitadelError(client.unlockUser({ userId: self.userId }), Code.Unauthenticated, ...TOKEN_INVALID);
    expect(await stateOf(admin(), self.userId)).toBe(UserState.LOCKED);
  });

  it("needs user.write in the target organization to add a human", async () => {
    // ORG_OWNER_VIEWER has no user.write.
    await expectZitadelError(addHuman(as(viewerA.token), { orgId: orgA }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(addHuman(as(viewerA.token)), Code.PermissionDenied, ...NO_PERMISSION);
    // ORG_OWNER of A has no rights in B (nor in an organization that does not exist).
    await expectZitadelError(addHuman(as(ownerA.token), { orgId: orgB }), Code.PermissionDenied, ...NO_PERMISSION);
    await expectZitadelError(addHuman(as(ownerA.token), { orgId: "999999999999999999" }), Code.PermissionDenied, ...NO_PERMISSION);

    // With user.write, in the named organization.
    const named = await addHuman(as(managerA.token), { orgId: orgA });
    expect((await admin().getUserByID({ userId: named })).user!.details!.resourceOwner).toBe(orgA);
  });

  it("adds a human to the caller's own organization when none is given", async () => {
    for (const [caller, org] of [
      [managerA, orgA],
      [ownerA, orgA],
      [ownerB, orgB],
    ] as const) {
      const client = as(caller.token);
      const res = await client.addHumanUser({
        username: `own-org-${crypto.randomUUID()}`,
        profile: { givenName: "Gigi", familyName: "Giraffe" },
        email: { email: `${crypto.randomUUID()}@example.com`, verification: { case: "isVerified", value: true } },
      });
      expect(res.userId).not.toBe("");
      expect(res.details!.resourceOwner).toBe(org);
      const read = await admin().getUserByID({ userId: res.userId });
      expect(read.user!.details!.resourceOwner).toBe(org);
      expect(read.details!.resourceOwner).toBe(org);
      expect(read.user!.state).toBe(UserState.INITIAL);
    }

    // The admin (IAM_OWNER) lives in the first organization, neither A nor B.
    const res = await admin().addHumanUser({
      profile: { givenName: "Gigi", familyName: "Giraffe" },
      email: { email: `${crypto.randomUUID()}@example.com`, verification: { case: "isVerified", value: true } },
    });
    const adminOrg = res.details!.resourceOwner;
    expect(adminOrg).toMatch(/^\d{18}$/);
    expect([orgA, orgB]).not.toContain(adminOrg);
    expect((await admin().getUserByID({ userId: res.userId })).user!.details!.resourceOwner).toBe(adminOrg);
  });
});

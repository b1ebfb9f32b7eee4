/** AddHumanUser against a real server: states, ids, uniqueness, round-trips, refusals, password storage. */
import { randomUUID } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Gender, UserState } from "../gen/zitadel/user/v2/user_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { AddHumanUserRequest, AddHumanUserRequestSchema } from "../gen/zitadel/user/v2/user_service_pb.js";
import { userClient, type UserClient } from "./support/clients.js";
import { query, rowsOf, tableNames } from "./support/db.js";
import { addOrg, expectCode, expectZitadelError } from "./support/fixtures.js";
import { SERVERS_ON_POSTGRES } from "./support/postgres.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let client: UserClient;
beforeAll(async () => {
  server = await startServer();
  client = userClient("connect-json", server.baseUrl, server.adminToken);
});
afterAll(() => server?.stop());

/** The plain-object form of the request (not an already created message). */
type AddRequest = Exclude<MessageInitShape<typeof AddHumanUserRequestSchema>, AddHumanUserRequest>;

/** A valid request with a unique username and email; `overrides` replace top-level fields. */
function request(overrides: AddRequest = {}): AddRequest {
  const name = randomUUID();
  return {
    username: `user-${name}`,
    profile: { givenName: "Gigi", familyName: "Giraffe" },
    email: { email: `${name}@example.com` },
    ...overrides,
  };
}

const withPassword = (password = "Secr3t-Passw0rd!"): Pick<AddRequest, "passwordType"> => ({
  passwordType: { case: "password", value: { password } },
});

const orgRef = (orgId: string): Pick<AddRequest, "organization"> => ({ organization: { org: { case: "orgId", value: orgId } } });

async function read(userId: string) {
  const res = await client.getUserByID({ userId });
  return res.user!;
}

describe("AddHumanUser", () => {
  it("creates an ACTIVE user with a password and an INITIAL one without", async () => {
    const active = await client.addHumanUser(request(withPassword()));
    expect((await read(active.userId)).state).toBe(UserState.ACTIVE);
    expect(active.details!.sequence).toBe(1n);

    const initial = await client.addHumanUser(request());
    const user = await read(initial.userId);
    expect(user.state).toBe(UserState.INITIAL);
    expect(user.type.case).toBe("human");
    // As in ZITADEL, the state is on User only; the nested HumanUser leaves its copy unset.
    if (user.type.case === "human") expect(user.type.value.state).toBe(UserState.UNSPECIFIED);
  });

  it("returns an 18-digit decimal user id when none is given, with details of the new user", async () => {
    const res = await client.addHumanUser(request(withPassword()));
    expect(res.userId).toMatch(/^\d{18}$/);
    expect(res.details!.sequence).toBe(1n);
    expect(res.details!.resourceOwner).toMatch(/^\d{18}$/);
    const other = await client.addHumanUser(request());
    expect(other.userId).toMatch(/^\d{18}$/);
    expect(other.userId).not.toBe(res.userId);
  });

  it("accepts a given user_id, and refuses the same user_id again with AlreadyExists", async () => {
    const userId = `my-own-id-${randomUUID()}`;
    const res = await client.addHumanUser(request({ userId, ...withPassword() }));
    expect(res.userId).toBe(userId);
    expect((await read(userId)).userId).toBe(userId);

    await expectCode(client.addHumanUser(request({ userId })), Code.AlreadyExists);
    // The first user is untouched by the refused second one.
    const again = await client.getUserByID({ userId });
    expect(again.details!.sequence).toBe(1n);
    expect(again.user!.state).toBe(UserState.ACTIVE);
  });

  it("refuses a username already used in the organization, but allows it in another organization", async () => {
    const username = `taken-${randomUUID()}`;
    const first = await client.addHumanUser(request({ username }));
    const orgId = (await read(first.userId)).details!.resourceOwner;

    await expectCode(client.addHumanUser(request({ username })), Code.AlreadyExists);
    await expectCode(client.addHumanUser(request({ username, ...orgRef(orgId) })), Code.AlreadyExists);

    const otherOrg = await addOrg(server);
    expect(otherOrg).not.toBe(orgId);
    const second = await client.addHumanUser(request({ username, ...orgRef(otherOrg) }));
    expect(second.details!.resourceOwner).toBe(otherOrg);
    const user = await read(second.userId);
    expect(user.username).toBe(username);
    expect(user.details!.resourceOwner).toBe(otherOrg);
  });

  it("defaults the username to the email address", async () => {
    const email = `${randomUUID()}@example.com`;
    const res = await client.addHumanUser({ profile: { givenName: "Ann", familyName: "Lee" }, email: { email } });
    const user = await read(res.userId);
    expect(user.username).toBe(email);
    expect(user.preferredLoginName).toBe(email);
    expect(user.loginNames).toContain(email);
  });

  it("round-trips email is_verified through GetUserByID", async () => {
    for (const isVerified of [true, false]) {
      const email = `${randomUUID()}@example.com`;
      const res = await client.addHumanUser(request({ email: { email, verification: { case: "isVerified", value: isVerified } } }));
      const user = await read(res.userId);
      expect(user.type.case).toBe("human");
      if (user.type.case !== "human") return;
      expect(user.type.value.email!.email).toBe(email);
      expect(user.type.value.email!.isVerified).toBe(isVerified);
    }
    // No verification given: not verified.
    const plain = await client.addHumanUser(request());
    const user = await read(plain.userId);
    if (user.type.case !== "human") throw new Error("expected a human user");
    expect(user.type.value.email!.isVerified).toBe(false);
  });

  it("round-trips the profile fields", async () => {
    const profile = {
      givenName: "Gertrud",
      familyName: "Müller",
      nickName: "Trudi",
      displayName: "Gertrud M.",
      preferredLanguage: "de",
      gender: Gender.FEMALE,
    };
    const res = await client.addHumanUser(request({ profile }));
    const user = await read(res.userId);
    if (user.type.case !== "human") throw new Error("expected a human user");
    expect(user.type.value.profile).toMatchObject(profile);

    const diverse = await client.addHumanUser(request({ profile: { ...profile, gender: Gender.DIVERSE } }));
    const other = await read(diverse.userId);
    if (other.type.case !== "human") throw new Error("expected a human user");
    expect(other.type.value.profile!.gender).toBe(Gender.DIVERSE);
  });

  it("round-trips password change_required", async () => {
    const res = await client.addHumanUser(request({ passwordType: { case: "password", value: { password: "Secr3t-Passw0rd!", changeRequired: true } } }));
    const user = await read(res.userId);
    if (user.type.case !== "human") throw new Error("expected a human user");
    expect(user.type.value.passwordChangeRequired).toBe(true);
  });

  const unsupported: [string, RegExp, () => AddRequest][] = [
    ["phone", /phone/i, () => request({ phone: { phone: "+41791234567" } })],
    ["metadata", /metadata/i, () => request({ metadata: [{ key: "k", value: new TextEncoder().encode("v") }] })],
    ["hashed_password", /hashed_?password/i, () => request({ passwordType: { case: "hashedPassword", value: { hash: "$2a$10$abcdefghijklmnopqrstuv" } } })],
    ["idp_links", /idp_?links/i, () => request({ idpLinks: [{ idpId: "idp", userId: "u", userName: "n" }] })],
    ["totp_secret", /totp_?secret/i, () => request({ totpSecret: "JBSWY3DPEHPK3PXP" })],
    [
      "email send_code",
      /send_?code/i,
      () => request({ email: { email: `${randomUUID()}@example.com`, verification: { case: "sendCode", value: {} } } }),
    ],
    [
      "email return_code",
      /return_?code/i,
      () => request({ email: { email: `${randomUUID()}@example.com`, verification: { case: "returnCode", value: {} } } }),
    ],
  ];

  it.each(unsupported)("refuses the unsupported field %s with InvalidArgument naming it", async (_name, pattern, build) => {
    const req = build();
    const err = await expectCode(client.addHumanUser(req), Code.InvalidArgument);
    expect(err.rawMessage).toMatch(pattern);
    // Nothing was created: the username is still free.
    const ok = await client.addHumanUser(request({ username: req.username }));
    expect(ok.userId).toMatch(/^\d{18}$/);
  });

  it("refuses a missing profile, an empty given name and an invalid email with InvalidArgument", async () => {
    const missingProfile = await expectCode(client.addHumanUser(request({ profile: undefined })), Code.InvalidArgument);
    expect(missingProfile.rawMessage).toMatch(/profile/i);

    await expectCode(client.addHumanUser(request({ profile: { givenName: "", familyName: "Giraffe" } })), Code.InvalidArgument);
    await expectCode(client.addHumanUser(request({ profile: { givenName: "Gigi", familyName: "" } })), Code.InvalidArgument);
    await expectCode(client.addHumanUser(request({ email: undefined })), Code.InvalidArgument);
    await expectCode(client.addHumanUser(request({ email: { email: "" } })), Code.InvalidArgument);
    for (const email of ["not-an-email", "a@b", "two words@example.com", "@example.com"]) {
      await expectCode(client.addHumanUser(request({ email: { email } })), Code.InvalidArgument);
    }
  });

  it("refuses an unknown organization with FailedPrecondition", async () => {
    await expectZitadelError(
      client.addHumanUser(request({ ...orgRef("999999999999999999"), ...withPassword() })),
      Code.FailedPrecondition,
      "COMMAND-QXPGs",
      "Organisation not found",
    );
  });

  it("stores the password only as a scrypt hash, never in plain text", async () => {
    const password = `Plain-${randomUUID()}-Text!`;
    const res = await client.addHumanUser(request(withPassword(password)));

    const [row] = await query(server, "SELECT * FROM users WHERE id = ?", [res.userId]);
    expect(row).toBeDefined();
    expect(String(row!.password_hash)).toMatch(/^\$scrypt\$/);

    const users = await rowsOf(server, "users");
    expect(users.length).toBeGreaterThan(0);
    expect(JSON.stringify(users)).not.toContain(password);

    const events = await rowsOf(server, "events");
    expect(events.some((e) => e.aggregate_id === res.userId)).toBe(true);
    expect(JSON.stringify(events)).not.toContain(password);

    // Nor anywhere else in the database.
    const tables = await tableNames(server);
    expect(tables).toEqual(expect.arrayContaining(["users", "events"]));
    for (const name of tables) {
      expect(JSON.stringify(await rowsOf(server, name)), `table ${name}`).not.toContain(password);
    }

    // Nor in the raw SQLite files (database and write-ahead log).
    if (!SERVERS_ON_POSTGRES) {
      expect(existsSync(server.databaseFile), server.databaseFile).toBe(true);
      for (const file of [server.databaseFile, `${server.databaseFile}-wal`]) {
        if (existsSync(file)) expect(readFileSync(file).includes(Buffer.from(password)), file).toBe(false);
      }
    }
    // Nor in the server's log.
    expect(server.output()).not.toContain(password);
  });
});

/** The admin command line (SPEC §7), run against the database of a running server. */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { existsSync, readFileSync } from "node:fs";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient } from "./support/clients.js";
import { countRows, storedValues, tableNames } from "./support/db.js";
import { addHuman, addOrg, cli, expectCode, expectZitadelError } from "./support/fixtures.js";
import { SERVERS_ON_POSTGRES } from "./support/postgres.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";
import { USAGE } from "../src/cli/commands.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

const ROLES = ["IAM_OWNER", "IAM_LOGIN_CLIENT", "ORG_OWNER", "ORG_USER_MANAGER", "ORG_OWNER_VIEWER"] as const;

const runFile = promisify(execFile);

describe("the README's command", () => {
  it("npm run --silent cli -- … prints only the CLI's answer, and usage errors exit 2", async () => {
    const ok = await runFile("npm", ["run", "--silent", "cli", "--", "org", "add", "--name", "Via npm"], { cwd: ROOT, env: server.env });
    expect(ok.stdout).toMatch(/^\d{18}\n$/);
    const usage = await runFile("npm", ["run", "--silent", "cli", "--", "org", "add"], { cwd: ROOT, env: server.env }).then(
      () => undefined,
      (err: { code: number; stdout: string }) => err,
    );
    expect(usage?.code).toBe(2);
    expect(usage?.stdout).toBe("");
  });
});

const count = (table: "organizations" | "users" | "tokens") => countRows(server, table);

// The cases of one block share nothing they change, so their processes run at once (each
// block still runs after the one before it).
describe("help", () => {
  it.concurrent.each(["--help", "help", "-h", "org add --help"])("npm run --silent cli -- %s prints the usage on stdout and exits 0", async (args) => {
    const before = await count("organizations");
    const { stdout, stderr } = await runFile("npm", ["run", "--silent", "cli", "--", ...args.split(" ")], { cwd: ROOT, env: server.env });
    expect(stdout).toBe(`${USAGE}\n`);
    expect(stderr).toBe("");
    expect(await count("organizations")).toBe(before);
  });
});


describe("org add", () => {
  it("prints the new organization's 18-digit id and nothing else", async () => {
    const first = await cli(server, "org", "add", "--name", "Acme");
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^\d{18}\n$/);
    expect(first.stderr).toBe("");
    const second = await cli(server, "org", "add", "--name", "Acme");
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/^\d{18}\n$/);
    expect(second.stdout).not.toBe(first.stdout);

    // The organization is usable at once by the running server.
    const orgId = first.stdout.trim();
    const admin = userClient("connect-json", server.baseUrl, server.adminToken);
    const userId = await addHuman(admin, { orgId });
    expect((await admin.getUserByID({ userId })).user!.details!.resourceOwner).toBe(orgId);
  });
});

describe("machine add", () => {
  it.concurrent.each(ROLES)("prints '<userId> <token>' for %s, and the token authenticates", async (role) => {
    const orgId = await addOrg(server);
    const username = `bot-${randomUUID()}`;
    const result = await cli(server, "machine", "add", "--org", orgId, "--username", username, "--role", role);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const match = /^(\d{18}) (\S+)\n$/.exec(result.stdout);
    expect(match, `unexpected output: ${JSON.stringify(result.stdout)}`).not.toBeNull();
    const [, userId, token] = match!;
    expect(token!.length).toBeGreaterThanOrEqual(32);

    const client = userClient("connect-json", server.baseUrl, token);
    const self = await client.getUserByID({ userId });
    expect(self.user!.userId).toBe(userId);
    expect(self.user!.username).toBe(username);
    expect(self.user!.state).toBe(UserState.ACTIVE);
    expect(self.user!.type.case).toBe("machine");
    expect(self.user!.details!.resourceOwner).toBe(orgId);

    // The role was granted where it should be: only IAM_OWNER reaches another organization.
    const admin = userClient("connect-json", server.baseUrl, server.adminToken);
    const elsewhere = await addHuman(admin, { orgId: await addOrg(server) });
    if (role === "IAM_OWNER") {
      expect((await client.getUserByID({ userId: elsewhere })).user!.userId).toBe(elsewhere);
    } else {
      await expectCode(client.getUserByID({ userId: elsewhere }), Code.NotFound);
    }
    // ...and carries its permissions in its own organization.
    const colleague = await addHuman(admin, { orgId });
    if (role === "ORG_OWNER_VIEWER") {
      await expectZitadelError(client.lockUser({ userId: colleague }), Code.PermissionDenied, "AUTH-AWfge", "No matching permissions found");
    } else if (role === "IAM_LOGIN_CLIENT") {
      // Sessions only: it may not even read users.
      await expectZitadelError(client.lockUser({ userId: colleague }), Code.NotFound, "COMMAND-450yxuqrh1", "User could not be found");
    } else {
      expect((await client.lockUser({ userId: colleague })).details!.resourceOwner).toBe(orgId);
    }
  });

  it("refuses an unknown organization with a clear message and creates nothing", async () => {
    const users = await count("users");
    const tokens = await count("tokens");
    const result = await cli(server, "machine", "add", "--org", "999999999999999999", "--username", "ghost", "--role", "ORG_OWNER");
    expect(result.code).not.toBe(0);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/organi[sz]ation not found/i);
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/); // no stack trace
    expect(await count("users")).toBe(users);
    expect(await count("tokens")).toBe(tokens);
  });

  it("refuses a username already taken in the organization", async () => {
    const orgId = await addOrg(server);
    const args = ["machine", "add", "--org", orgId, "--username", `dup-${randomUUID()}`, "--role", "ORG_OWNER"];
    expect((await cli(server, ...args)).code).toBe(0);
    const again = await cli(server, ...args);
    expect(again.code).not.toBe(0);
    expect(again.stdout).toBe("");
    expect(again.stderr).toMatch(/already exists/i);
  });
});

describe("usage errors", () => {
  const cases: [string, (orgId: string) => string[]][] = [
    ["no command", () => []],
    ["an unknown command", () => ["user", "add", "--name", "x"]],
    ["an unknown subcommand", () => ["org", "remove", "--name", "x"]],
    ["org add without --name", () => ["org", "add"]],
    ["org add with --name but no value", () => ["org", "add", "--name"]],
    ["org add with an empty --name", () => ["org", "add", "--name", ""]],
    ["an unknown option", (orgId) => ["org", "add", "--name", `x-${orgId}`, "--bogus"]],
    ["an unknown option on machine add", (orgId) => ["machine", "add", "--org", orgId, "--username", "u", "--role", "ORG_OWNER", "--admin"]],
    ["an unknown role", (orgId) => ["machine", "add", "--org", orgId, "--username", "u", "--role", "SUPERUSER"]],
    ["a lower-case role", (orgId) => ["machine", "add", "--org", orgId, "--username", "u", "--role", "org_owner"]],
    ["machine add without --role", (orgId) => ["machine", "add", "--org", orgId, "--username", "u"]],
    ["machine add without --org", () => ["machine", "add", "--username", "u", "--role", "ORG_OWNER"]],
    ["machine add without --username", (orgId) => ["machine", "add", "--org", orgId, "--role", "ORG_OWNER"]],
  ];

  let orgId: string;
  beforeAll(async () => {
    orgId = await addOrg(server);
  });

  it.concurrent.each(cases)("%s: exit code 2, usage on stderr, nothing on stdout, nothing written", async (_, args) => {
    const before = { orgs: await count("organizations"), users: await count("users"), tokens: await count("tokens") };
    const result = await cli(server, ...args(orgId));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/usage/i);
    expect(result.stderr).toContain("org add --name");
    expect(result.stderr).toContain("machine add --org");
    expect({ orgs: await count("organizations"), users: await count("users"), tokens: await count("tokens") }).toEqual(before);
  });
});

describe("tokens at rest", () => {
  it("never stores a token in plain text", async () => {
    const orgId = await addOrg(server);
    const made: string[] = [server.adminToken];
    for (const role of ROLES) {
      const result = await cli(server, "machine", "add", "--org", orgId, "--username", `bot-${randomUUID()}`, "--role", role);
      expect(result.code).toBe(0);
      made.push(result.stdout.trim().split(" ")[1]!);
    }
    // Each of them works against the running server.
    for (const token of made) {
      await userClient("connect-json", server.baseUrl, token).listUsers({});
    }

    expect(await count("tokens")).toBeGreaterThanOrEqual(made.length);
    const tokenTexts = await storedValues(server, "tokens");
    expect(tokenTexts.length).toBeGreaterThan(0);
    const tables = await tableNames(server);
    expect(tables).toContain("tokens");
    const everyTable = await Promise.all(tables.map(async (table) => [table, await storedValues(server, table)] as const));
    for (const token of made) {
      expect(token.length).toBeGreaterThanOrEqual(32);
      for (const value of tokenTexts) expect(value).not.toContain(token);
      // Nor anywhere else in the database.
      for (const [table, values] of everyTable) {
        for (const value of values) expect(value.includes(token), `token found in table ${table}`).toBe(false);
      }
    }
    // Not in the raw bytes of the SQLite files either (free pages, write-ahead log).
    if (!SERVERS_ON_POSTGRES) {
      expect(existsSync(server.databaseFile), server.databaseFile).toBe(true);
      for (const file of [server.databaseFile, `${server.databaseFile}-wal`].filter((f) => existsSync(f))) {
        const bytes = readFileSync(file).toString("latin1");
        for (const token of made) expect(bytes.includes(token), `token found in ${file}`).toBe(false);
      }
    }
  });
});

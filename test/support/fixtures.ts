/** Small builders shared by the tests. */
import { execFile } from "node:child_process";
import { randomUUID } from "node:crypto";
import { promisify } from "node:util";
import { Code, ConnectError } from "@connectrpc/connect";
import bcrypt from "bcryptjs";
import { expect } from "vitest";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { UserApp } from "../../src/app/user-app.js";
import type { Role } from "../../src/domain/permissions.js";
import { createLogger } from "../../src/observability/logger.js";
import { openStore } from "../../src/store/open.js";
import type { UserClient } from "./clients.js";
import { PASSWORD } from "./given.js";
import { ROOT, type TestServer } from "./server.js";

const run = promisify(execFile);

export const CLI_COMMAND = [process.execPath, "dist/cli.mjs"];

/**
 * Runs the admin CLI against the server's database: the command `npm run --silent cli --`
 * runs, without npm's own start-up (test/cli.test.ts also goes through npm once).
 */
export async function cli(server: Pick<TestServer, "env">, ...args: string[]) {
  try {
    const command = [...CLI_COMMAND, ...args];
    const { stdout, stderr } = await run(command[0]!, command.slice(1), { cwd: ROOT, env: server.env });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const failed = err as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

/**
 * Does on the server's database what `cli org add` and `cli machine add` do, in this process:
 * hundreds of tests make their organizations and machine users this way, and a CLI process for
 * each cost half a second. The CLI's own runs, as a process, are test/cli.test.ts's.
 */
async function onDatabase<T>(server: Pick<TestServer, "databaseUrl">, work: (app: UserApp) => Promise<T>): Promise<T> {
  const store = await openStore(server.databaseUrl, { poolSize: 1, logger: createLogger("error", 2), owner: false });
  try {
    return await work(new UserApp(store));
  } finally {
    await store.close();
  }
}

export async function addOrg(server: Pick<TestServer, "databaseUrl">, name = `org-${randomUUID()}`): Promise<string> {
  return (await onDatabase(server, (app) => app.addOrganization(name))).id;
}

export async function addMachine(server: Pick<TestServer, "databaseUrl">, orgId: string, role: Role): Promise<{ userId: string; token: string }> {
  return onDatabase(server, (app) => app.addMachineUser(orgId, `bot-${randomUUID()}`, role));
}

/**
 * PASSWORD as an imported bcrypt hash of the lowest cost: the server keeps it as given, and
 * signs in with it as with any password, without the ~100 ms of scrypt a plain password costs it
 * per user, which was the largest single cost of most files' setup.
 */
export const TEST_PASSWORD_HASH = bcrypt.hashSync(PASSWORD, 4);

/**
 * Creates a human user: ACTIVE with PASSWORD (imported as a hash; the tests of hashing send
 * their own requests) or with the given bcrypt `hash`, INITIAL without one (`password: false`).
 */
export async function addHuman(client: UserClient, options: { password?: boolean; orgId?: string; hash?: string } = {}) {
  const name = randomUUID();
  const res = await client.addHumanUser({
    username: `user-${name}`,
    organization: options.orgId ? { org: { case: "orgId", value: options.orgId } } : undefined,
    profile: { givenName: "Gigi", familyName: "Giraffe" },
    email: { email: `${name}@example.com`, verification: { case: "isVerified", value: true } },
    passwordType: options.password === false ? { case: undefined } : { case: "hashedPassword", value: { hash: options.hash ?? TEST_PASSWORD_HASH } },
  });
  return res.userId;
}

/** Asserts a call failed with the code, the "<text> (<id>)" message and a matching ErrorDetail. */
export async function expectZitadelError(call: Promise<unknown>, code: Code, id: string, text: string) {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(ConnectError);
  const connectErr = err as ConnectError;
  expect(Code[connectErr.code]).toBe(Code[code]);
  expect(connectErr.rawMessage).toBe(`${text} (${id})`);
  const details = connectErr.findDetails(ErrorDetailSchema);
  expect(details).toHaveLength(1);
  expect(details[0]).toMatchObject({ id, message: text });
}

/** Asserts a call failed with the code; returns the error for further checks. */
export async function expectCode(call: Promise<unknown>, code: Code): Promise<ConnectError> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(ConnectError);
  expect(Code[(err as ConnectError).code]).toBe(Code[code]);
  return err as ConnectError;
}

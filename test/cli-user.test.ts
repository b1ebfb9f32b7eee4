/**
 * The CLI's API commands (`user lock|unlock|history`, `events watch`) as an administrator runs
 * them: the real CLI process against a real server, each result read back through the API.
 */
import { spawn } from "node:child_process";
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockCause, UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient } from "./support/clients.js";
import { addHuman, addMachine, addOrg, cli, CLI_COMMAND } from "./support/fixtures.js";
import { freePort, ROOT, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

const records = () => createClient(UserRecordService, transport("connect-json", server.baseUrl, server.adminToken));
const users = () => userClient("connect-json", server.baseUrl, server.adminToken);
/** The CLI against the test server, with the token the server wrote on its first start (server.env's ADMIN_TOKEN_FILE). */
const run = (...args: string[]) => cli(server, ...args, "--server", server.baseUrl);
const iso = (ts: Timestamp | undefined) => timestampDate(ts!).toISOString();
const lines = (text: string) => text.split("\n").slice(0, -1);
const HOUR_MS = 3_600_000;
/** A user id no user has. */
const UNKNOWN = "999999999999999999";

/** The protocols of the server's calls to `method` so far, from its log (a line per call). */
function callsTo(method: string): string[] {
  return server
    .output()
    .split("\n")
    .filter((line) => line.includes(`"msg":"call"`))
    .map((line) => JSON.parse(line) as { method: string; protocol: string })
    .filter((call) => call.method === method)
    .map((call) => call.protocol);
}

describe("user lock, history and unlock", () => {
  it("locks two users with a reason and an end, shows it in the history, and unlocks them", async () => {
    const [first, second] = [await addHuman(users()), await addHuman(users())];
    const before = Date.now();
    const locked = await run("user", "lock", first, second, "--reason", 'phished, "ticket" 42', "--for", "2h");
    const after = Date.now();
    expect(locked).toEqual({ code: 0, stdout: `${first} locked (sequence 2)\n${second} locked (sequence 2)\n`, stderr: "" });

    for (const userId of [first, second]) {
      const status = await records().getLockStatus({ userId });
      expect(status.locked).toBe(true);
      expect(status.cause).toBe(LockCause.ADMIN);
      expect(status.reason).toBe('phished, "ticket" 42');
      const end = timestampDate(status.expiresAt!).getTime();
      expect(end).toBeGreaterThanOrEqual(before + 2 * HOUR_MS - 1000);
      expect(end).toBeLessThanOrEqual(after + 2 * HOUR_MS + 1000);
    }

    const [lock, added] = (await records().listUserEvents({ userId: first })).events;
    const history = await run("user", "history", first);
    expect(history.code).toBe(0);
    expect(lines(history.stdout)).toEqual([
      `${iso(lock!.creationDate)}  #2  user.locked  by ${lock!.actorId}  cause=ADMIN until=${iso(lock!.lock!.expiresAt)} reason="phished, \\"ticket\\" 42"`,
      `${iso(added!.creationDate)}  #1  user.human.added  by ${added!.actorId}`,
    ]);

    const unlocked = await run("user", "unlock", first, second);
    expect(unlocked).toEqual({ code: 0, stdout: `${first} unlocked (sequence 3)\n${second} unlocked (sequence 3)\n`, stderr: "" });
    for (const userId of [first, second]) expect((await records().getLockStatus({ userId })).locked).toBe(false);
    const [newest] = lines((await run("user", "history", second)).stdout);
    expect(newest).toMatch(/^\S+Z {2}#3 {2}user\.unlocked {2}by \d{18}$/);
  });

  it("locks or unlocks one user with the single call, its failure on the user's line, exit 1", async () => {
    const userId = await addHuman(users());
    const before = callsTo("zus.user.v1.UserRecordService/LockUser").length;
    expect(await run("user", "lock", UNKNOWN)).toEqual({ code: 1, stdout: `${UNKNOWN}: NotFound COMMAND-450yxuqrh1 User could not be found\n`, stderr: "" });
    // An id given twice counts once.
    expect(await run("user", "lock", userId, userId)).toEqual({ code: 0, stdout: `${userId} locked (sequence 2)\n`, stderr: "" });
    await expect.poll(() => callsTo("zus.user.v1.UserRecordService/LockUser").slice(before)).toEqual(["connect", "connect"]);
    expect(await run("user", "unlock", userId)).toEqual({ code: 0, stdout: `${userId} unlocked (sequence 3)\n`, stderr: "" });
    expect(await run("user", "unlock", userId)).toEqual({ code: 1, stdout: `${userId}: FailedPrecondition COMMAND-olb9vb0oca User is not locked\n`, stderr: "" });
  });

  it("locks or unlocks several users in one bulk call, each failure on its user's line, the others changed, exit 1", async () => {
    const [locked, fresh] = [await addHuman(users()), await addHuman(users())];
    await records().lockUser({ userId: locked });
    const before = callsTo("zus.user.v1.UserRecordService/BulkLockUsers").length;
    const result = await run("user", "lock", UNKNOWN, locked, fresh, fresh);
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([
      `${UNKNOWN}: NotFound COMMAND-450yxuqrh1 User could not be found`,
      `${locked}: FailedPrecondition COMMAND-lgws8wtsqf User is not active or initial`,
      `${fresh} locked (sequence 2)`,
    ]);
    expect(result.stderr).toBe("");
    await expect.poll(() => callsTo("zus.user.v1.UserRecordService/BulkLockUsers").slice(before)).toEqual(["connect"]);
    expect((await records().getLockStatus({ userId: fresh })).locked).toBe(true);

    const never = await addHuman(users());
    const unlocked = await run("user", "unlock", fresh, never, locked);
    expect(unlocked.code).toBe(1);
    expect(lines(unlocked.stdout)).toEqual([
      `${fresh} unlocked (sequence 3)`,
      `${never}: FailedPrecondition COMMAND-olb9vb0oca User is not locked`,
      `${locked} unlocked (sequence 3)`,
    ]);
  });

  it("sends more than 1,000 ids in bulk calls of 1,000, every user answered in order", async () => {
    const userId = await addHuman(users());
    const unknown = Array.from({ length: 1000 }, (_, i) => String(900_000_000_000_000_000n + BigInt(i)));
    const before = callsTo("zus.user.v1.UserRecordService/BulkLockUsers").length;
    const result = await run("user", "lock", ...unknown, userId);
    expect(result.code).toBe(1);
    expect(lines(result.stdout)).toEqual([...unknown.map((id) => `${id}: NotFound COMMAND-450yxuqrh1 User could not be found`), `${userId} locked (sequence 2)`]);
    await expect.poll(() => callsTo("zus.user.v1.UserRecordService/BulkLockUsers").slice(before)).toEqual(["connect", "connect"]);
  });

  it("passes the server's InvalidArgument on in one line: the user's for a single call, the command's for a bulk", async () => {
    const [first, second] = [await addHuman(users()), await addHuman(users())];
    const single = await run("user", "lock", first, "--reason", "x".repeat(501));
    expect(single).toEqual({
      code: 1,
      stdout: `${first}: InvalidArgument invalid LockUserRequest.Reason: value length must be between 0 and 500 runes, inclusive\n`,
      stderr: "",
    });
    const bulk = await run("user", "lock", first, second, "--reason", "x".repeat(501));
    expect(bulk).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: InvalidArgument invalid BulkLockUsersRequest.Reason: value length must be between 0 and 500 runes, inclusive\n",
    });
    for (const userId of [first, second]) expect((await records().getLockStatus({ userId })).locked).toBe(false);
  });

  it("prints every page of a long history, newest first", async () => {
    const userId = await addHuman(users());
    // 201 events: more than the CLI's page of 200.
    for (let i = 0; i < 100; i++) {
      await records().lockUser({ userId });
      await users().unlockUser({ userId });
    }
    const history = await run("user", "history", userId);
    expect(history.code).toBe(0);
    const sequences = lines(history.stdout).map((line) => Number(/ {2}#(\d+) {2}/.exec(line)![1]));
    expect(sequences).toEqual(Array.from({ length: 201 }, (_, i) => 201 - i));
  });

  it("answers an unknown user's history with the server's error in one line and exit 1", async () => {
    const result = await run("user", "history", UNKNOWN);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "error: NotFound QUERY-Dfbg2 User could not be found\n" });
  });
});

describe("the token", () => {
  it("is ZUS_TOKEN when set, before the admin token file", async () => {
    const orgId = await addOrg(server);
    const viewer = await addMachine(server, orgId, "ORG_OWNER_VIEWER");
    const userId = await addHuman(users(), { orgId });
    const result = await cli({ env: { ...server.env, ZUS_TOKEN: viewer.token } }, "user", "lock", userId, "--server", server.baseUrl);
    expect(result).toEqual({ code: 1, stdout: `${userId}: PermissionDenied AUTH-AWfge No matching permissions found\n`, stderr: "" });
    expect((await records().getLockStatus({ userId })).locked).toBe(false);
  });

  it("missing altogether fails in one line", async () => {
    const result = await cli({ env: { ...server.env, ADMIN_TOKEN_FILE: `${server.dataDir}/none.pat` } }, "user", "unlock", UNKNOWN, "--server", server.baseUrl);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: no token: set ZUS_TOKEN, or make the admin token file readable \(ENOENT[^\n]*none\.pat'\)\n$/);
  });
});

// Each case has its user or its port: their processes run at once.
describe("mistakes", () => {
  it.concurrent.each([
    ["a duration in days", ["user", "lock", "ID", "--for", "2d"]],
    ["a duration of zero", ["user", "lock", "ID", "--for", "0s"]],
    ["a duration without unit", ["user", "lock", "ID", "--for", "7200"]],
    ["no user id", ["user", "lock", "--reason", "x"]],
    ["an option the command does not take", ["user", "unlock", "ID", "--reason", "x"]],
    ["two ids for history", ["user", "history", "ID", "ID"]],
    ["an id for events watch", ["events", "watch", "ID"]],
    ["an empty --type", ["events", "watch", "--type", ""]],
    ["a server that is no http URL", ["user", "unlock", "ID", "--server", "localhost:8080"]],
  ])("%s: usage error, exit 2, the user unchanged", async (_, args) => {
    const userId = await addHuman(users());
    const result = await cli(server, ...args.map((arg) => (arg === "ID" ? userId : arg)));
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: .+\nusage:\n/);
    expect((await users().getUserByID({ userId })).details!.sequence).toBe(1n);
  });

  it.concurrent.each([
    ["user lock", ["user", "lock", UNKNOWN]],
    ["user unlock of several users", ["user", "unlock", UNKNOWN, "1"]],
    ["user history", ["user", "history", UNKNOWN]],
    ["events watch", ["events", "watch"]],
  ])("%s with no server listening: one clear line, exit 1", async (_, args) => {
    const port = await freePort();
    const result = await cli(server, ...args, "--server", `http://127.0.0.1:${port}`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(lines(result.stderr)[0]).toBe(`error: cannot reach the server at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}`);
    expect(result.stderr).not.toMatch(/\bat .*\.[jt]s:\d+/); // no stack trace
  });
});

/** `events watch` as a child process, read line by line while it runs. */
function watchCli(...args: string[]) {
  return watchCliOf(server, ...args);
}

function watchCliOf(target: TestServer, ...args: string[]) {
  const child = spawn(CLI_COMMAND[0]!, [...CLI_COMMAND.slice(1), "events", "watch", ...args, "--server", target.baseUrl], { cwd: ROOT, env: target.env });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    /** The first `count` lines of stdout, once printed. */
    async lines(count: number): Promise<string[]> {
      for (const deadline = Date.now() + 10_000; lines(stdout).length < count; await new Promise((r) => setTimeout(r, 20))) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`watch printed ${JSON.stringify(stdout)}, stderr ${JSON.stringify(stderr)}`);
      }
      return lines(stdout).slice(0, count);
    },
    /** Its exit code and everything it printed, once it has exited. */
    async exit() {
      return { code: await exited, stdout, stderr };
    },
    /** Ctrl-C. */
    async interrupt() {
      child.kill("SIGINT");
      return this.exit();
    },
  };
}

describe("events watch", () => {
  it("prints a lock made through the API while it runs, ends with exit 0 on Ctrl-C, and resumes from the position it printed", async () => {
    const [userId, other] = [await addHuman(users()), await addHuman(users())];
    // Started from the history's position, the watch misses nothing made after it, however long the CLI takes to start.
    const { position } = await records().listUserEvents({ userId, pageSize: 1 });
    const watcher = watchCli("--user", userId, "--from", position);
    await records().lockUser({ userId: other, reason: "not watched" });
    await records().lockUser({ userId, reason: "watched" });
    const [lock] = (await records().listUserEvents({ userId, pageSize: 1 })).events;
    expect(await watcher.lines(1)).toEqual([
      `${iso(lock!.creationDate)}  #2  user.locked  by ${lock!.actorId}  cause=ADMIN reason="watched"  user=${userId} org=${lock!.resourceOwner}`,
    ]);
    const stopped = await watcher.interrupt();
    expect(stopped.code).toBe(0);
    expect(lines(stopped.stdout)).toHaveLength(1);
    const resume = /^resume with --from (\S+)$/.exec(stopped.stderr.trim());
    expect(resume, stopped.stderr).not.toBeNull();

    // What happened while no one watched comes first on resuming, and nothing from before.
    await users().unlockUser({ userId });
    const resumed = watchCli("--user", userId, "--from", resume![1]!);
    const [line] = await resumed.lines(1);
    expect(line).toMatch(/ {2}#3 {2}user\.unlocked {2}/);
    expect((await resumed.interrupt()).code).toBe(0);
  });

  it("prints only the events of --org and the --type asked for", async () => {
    const [orgId, otherOrg] = [await addOrg(server), await addOrg(server)];
    const [first, second, stranger] = [await addHuman(users(), { orgId }), await addHuman(users(), { orgId }), await addHuman(users(), { orgId: otherOrg })];
    const { position } = await records().listUserEvents({ userId: first, pageSize: 1 });
    const watcher = watchCli("--org", orgId, "--type", "user.unlocked", "--from", position);
    // Locks (not the type), an unlock in another organization, and three unlocks the watch wants.
    for (const userId of [first, stranger, second, second]) {
      await records().lockUser({ userId });
      await users().unlockUser({ userId });
    }
    const unlock = (userId: string, sequence: number) =>
      new RegExp(`^\\S+Z {2}#${sequence} {2}user\\.unlocked {2}by \\d{18} {2}user=${userId} org=${orgId}$`);
    expect(await watcher.lines(3)).toEqual([
      expect.stringMatching(unlock(first, 3)),
      expect.stringMatching(unlock(second, 3)),
      expect.stringMatching(unlock(second, 5)),
    ]);
    const stopped = await watcher.interrupt();
    expect(stopped.code).toBe(0);
    expect(lines(stopped.stdout)).toHaveLength(3);
  });

  it("ends with exit 1 and the position to resume from when the server ends the watch", async () => {
    const own = await startServer();
    let running = true;
    try {
      const userId = await addHuman(userClient("connect-json", own.baseUrl, own.adminToken));
      const ownRecords = createClient(UserRecordService, transport("connect-json", own.baseUrl, own.adminToken));
      const { position } = await ownRecords.listUserEvents({ userId, pageSize: 1 });
      const watcher = watchCliOf(own, "--user", userId, "--from", position);
      await ownRecords.lockUser({ userId });
      await watcher.lines(1);
      await own.stop();
      running = false;
      const ended = await watcher.exit();
      expect(ended.code).toBe(1);
      expect(lines(ended.stdout)).toHaveLength(1);
      expect(lines(ended.stderr)).toEqual([expect.stringMatching(/^error: Unavailable \S/), expect.stringMatching(/^resume with --from \S+$/)]);
    } finally {
      if (running) await own.stop();
    }
  });
});

/**
 * `npm start` as an operator runs it: SIGINT or SIGTERM sent to npm's pid (or Ctrl-C, to the whole
 * process group) stops the server cleanly and at once. npm forwards both signals to the script's
 * shell only; the script execs node so that the shell is the server (package.json "start"), with
 * the Node flags of package.json's config.nodeFlags (docs/operations.md, "Running in production").
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { commandLine, freePort, newDataDir, ROOT, SERVER_ENTRY } from "./support/server.js";
import { serverEnv } from "./support/server-env.js";

interface NpmStart {
  npm: ChildProcess;
  dataDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
}

const started: NpmStart[] = [];
afterEach(() => {
  // Whatever a failed test left behind: the whole group, npm and the server.
  for (const { npm, dataDir } of started.splice(0)) {
    if (groupAlive(npm.pid!)) process.kill(-npm.pid!, "SIGKILL");
    rmSync(dataDir, { recursive: true, force: true });
  }
});

/** Whether any process of the group that `npm start` leads is still there (signal 0 only checks). */
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function npmStart(): Promise<NpmStart & { baseUrl: string }> {
  const dataDir = newDataDir();
  const port = await freePort();
  // Its own process group, as a terminal gives it: Ctrl-C signals the group.
  const npm = spawn("npm", ["start"], { cwd: ROOT, env: serverEnv(dataDir, port), stdio: ["ignore", "pipe", "pipe"], detached: true });
  let output = "";
  npm.stdout!.on("data", (chunk) => (output += chunk));
  npm.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    npm.once("exit", (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const run = { npm, dataDir, output: () => output, exited, baseUrl: `http://127.0.0.1:${port}` };
  started.push(run);

  const deadline = Date.now() + 20_000;
  for (;;) {
    const status = await fetch(`${run.baseUrl}/healthz`).then((res) => res.status, () => 0);
    if (status === 200) return run;
    if (Date.now() > deadline || npm.exitCode !== null) throw new Error(`npm start did not answer /healthz:\n${output}`);
    await sleep(100);
  }
}

describe("npm start", () => {
  it.each([
    ["SIGINT to npm's pid", "SIGINT", "npm"],
    ["SIGTERM to npm's pid", "SIGTERM", "npm"],
    ["SIGINT to the process group (Ctrl-C in a terminal)", "SIGINT", "group"],
  ] as const)("%s: the server stops cleanly, npm exits 0 and no process is left", { timeout: 40_000 }, async (_, signal, target) => {
    const run = await npmStart();
    const signalAt = Date.now();
    process.kill(target === "group" ? -run.npm.pid! : run.npm.pid!, signal);

    const exit = await Promise.race([run.exited, sleep(5000).then(() => undefined)]);
    expect(exit, `npm start still running 5 s after ${signal}:\n${run.output()}`).toBeDefined();
    expect(exit!.at - signalAt).toBeLessThan(3000);
    expect(exit, run.output()).toMatchObject({ code: 0, signal: null });
    await sleep(100); // the group's last member may be reaped just after npm
    expect(groupAlive(run.npm.pid!), "a process of npm start outlived npm").toBe(false);

    expect(run.output()).toContain(`"signal":"${signal}"`);
    expect(run.output()).toContain('"msg":"shutting down"');
    expect(run.output()).toContain('"msg":"stopped"');
    expect(await fetch(`${run.baseUrl}/healthz`).then((res) => res.status, () => "refused")).toBe("refused");
  });

  it("runs the server as node with package.json's config.nodeFlags", { timeout: 40_000 }, async () => {
    const run = await npmStart();
    const flags: string = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).config.nodeFlags;
    expect(flags).toMatch(/^--max-semi-space-size=\d+$/);
    // The group's processes (field 5 of /proc/PID/stat is the process group), by their command lines.
    const group = readdirSync("/proc")
      .filter((pid) => /^\d+$/.test(pid))
      .flatMap((pid) => {
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
          const pgrp = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[2]);
          return pgrp === run.npm.pid ? [commandLine(pid)] : [];
        } catch {
          return []; // a process that ended meanwhile
        }
      });
    const server = group.find((argv) => argv.includes(SERVER_ENTRY));
    expect(server, JSON.stringify(group)).toBeDefined();
    expect(server!.slice(1, server!.indexOf(SERVER_ENTRY))).toEqual(flags.split(" "));
    process.kill(run.npm.pid!, "SIGTERM");
    expect(await run.exited).toMatchObject({ code: 0 });
  });
});

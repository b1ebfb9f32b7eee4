/**
 * Starts the real server (src/main.ts) as a child process on a free port with its own
 * SQLite file, the way an operator would, and gives tests what they need to call it.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createDatabase, SERVERS_ON_POSTGRES } from "./postgres.js";

export const ROOT = resolve(import.meta.dirname, "../..");
/** The bundled server, as `npm start` runs it. */
export const SERVER_ENTRY = "dist/server.mjs";

export interface TestServer {
  port: number;
  baseUrl: string;
  dataDir: string;
  /** The SQLite file of a server on SQLite (the default). */
  databaseFile: string;
  /** What the server got as DATABASE_URL: the SQLite file, or a PostgreSQL database of its own. */
  databaseUrl: string;
  adminTokenFile: string;
  adminToken: string;
  /** The server process's id (a restart gives a new one). */
  pid(): number;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** Stops the process (and drops the PostgreSQL database the harness made for it). */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  /** Stops and starts again on the same data directory and port, after `downMs` without a server. */
  restart(downMs?: number): Promise<void>;
  env: NodeJS.ProcessEnv;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

export function newDataDir(): string {
  return mkdtempSync(join(tmpdir(), "zus-test-"));
}

/** A process's command line, as its argv (from /proc/PID/cmdline). */
export function commandLine(pid: number | string): string[] {
  return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean);
}

export async function startServer(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? newDataDir();
  const port = await freePort();
  const databaseFile = join(dataDir, "zitadel.db");
  const adminTokenFile = join(dataDir, "admin.pat");
  const database = SERVERS_ON_POSTGRES && !options.env?.DATABASE_URL ? await createDatabase() : undefined;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    HOST: "127.0.0.1",
    DATABASE_URL: database?.url ?? databaseFile,
    ADMIN_TOKEN_FILE: adminTokenFile,
    // Every test client calls from 127.0.0.1, so the per-address attempt limit is off unless a
    // test is about it (test/limits.test.ts).
    AUTH_FAILURES_PER_MINUTE: "0",
    // One process unless the run asks for more (`WORKERS=2 npm test`, docs/operations.md); the
    // tests about several (test/workers.test.ts, the crash drill's) ask for their own.
    WORKERS: process.env.WORKERS ?? "1",
    ...options.env,
  };
  let output = "";
  let child: ChildProcess;
  let stopping = false;

  const launch = async () => {
    // The compiled server, as `npm start` runs it; the server itself is the child, so a signal reaches it directly.
    child = spawn(process.execPath, [SERVER_ENTRY], { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    stopping = false;
    child.once("exit", (code) => {
      // An exit that no test asked for is a crash worth seeing in the test log.
      if (!stopping) console.error(`server on port ${port} exited with ${code}:\n${output}`);
    });
    // Only what this process printed: after a restart the output so far holds the last one's "listening".
    const from = output.length;
    await waitForListening(child, () => output.slice(from));
  };

  const stopProcess = (signal: NodeJS.Signals = "SIGTERM") =>
    new Promise<number | null>((resolveStop) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolveStop(child.exitCode);
      stopping = true;
      child.once("exit", (code) => resolveStop(code));
      child.kill(signal);
    });

  await launch();
  return {
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    dataDir,
    databaseFile,
    databaseUrl: env.DATABASE_URL!,
    adminTokenFile,
    adminToken: readFileSync(adminTokenFile, "utf8").trim(),
    pid: () => child.pid!,
    output: () => output,
    async stop(signal) {
      const code = await stopProcess(signal);
      await database?.drop();
      return code;
    },
    async restart(downMs = 0) {
      await stopProcess();
      await new Promise((resolve) => setTimeout(resolve, downMs));
      await launch();
    },
    env,
  };
}

function waitForListening(child: ChildProcess, output: () => string): Promise<void> {
  return new Promise((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${output()}`)), 20_000);
    const onData = () => {
      if (output().includes('"msg":"listening"')) {
        clearTimeout(timer);
        child.stdout!.off("data", onData);
        child.stderr!.off("data", onData);
        resolveReady();
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${output()}`));
    });
  });
}

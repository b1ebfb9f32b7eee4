/**
 * A helper process on the load's core (`taskset -c 1 node --import tsx bench/<script>`) that
 * talks to the benchmark by lines of JSON on its stdout (and reads commands on its stdin): the
 * watchers of the watchers scenario, the receivers of the delivery scenario.
 */
import { spawn } from "node:child_process";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { ROOT } from "./server.js";

export interface LineChild {
  /** Its next line, parsed; rejects when it exits first, with the end of its stderr. */
  next<T = Record<string, unknown>>(): Promise<T>;
  /** Writes one line to its stdin. */
  send(line: string): void;
  /** Closes its stdin. */
  end(line?: string): void;
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<number | null>;
  /** The end of what it wrote to stderr. */
  stderr(): string;
}

export function lineChild(script: string, args: string[] = []): LineChild {
  const child = spawn("taskset", ["-c", "1", process.execPath, "--max-old-space-size=2048", "--import", "tsx", join("bench", script), ...args], {
    cwd: ROOT,
    stdio: ["pipe", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (c) => (stderr = (stderr + c).slice(-10_000)));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
  return {
    async next<T>() {
      const line = await lines.next();
      if (line.done) throw new Error(`bench/${script} exited with ${await exited}:\n${stderr}`);
      return JSON.parse(line.value) as T;
    },
    send: (line) => void child.stdin!.write(`${line}\n`),
    end: (line) => void child.stdin!.end(line),
    kill: (signal = "SIGKILL") => void child.kill(signal),
    exited,
    stderr: () => stderr,
  };
}

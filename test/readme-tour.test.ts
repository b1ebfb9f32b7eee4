/**
 * The README's tour, run the way a reader runs it: every ```sh block under the "## Tour" heading
 * of README.md, in order, in one bash session (so variables carry over), against a real server
 * started from the build `npm start` runs. Each command must exit 0 and print what the README
 * shows under it: its `# ` lines, where ids, times and tokens stand for their shape and
 * everything else (statuses, codes, messages, field names, states) must match to the letter.
 *
 * What differs from a reader's terminal, and why:
 * - `localhost:8080` in the commands becomes the test server's address (a free port), so the
 *   test runs beside a server of one's own;
 * - the session runs in a temporary folder that links to every entry of the project but data/,
 *   so `cat data/admin.pat`, `npx buf` and `npm run cli` behave as in the project folder while the
 *   server and the CLI use the test's own data/ (their DATABASE_URL and ADMIN_TOKEN_FILE point
 *   there too, and npm's variables of an enclosing `npm test` are dropped);
 * - history expansion is on, as in an interactive bash, and `set -e -o pipefail` stops at the
 *   first command that fails.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, startServer } from "./support/server.js";

interface TourCommand {
  /** The command as the README writes it (continuation lines included). */
  text: string;
  /** The output lines the README shows under it, without their `# `. */
  shown: string[];
  /** Where it starts in README.md, for failure messages. */
  line: number;
}

/** The commands of the ```sh blocks between "## Tour" and the next second-level heading. */
export function tourCommands(markdown: string): TourCommand[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((line) => line.trim() === "## Tour");
  if (start < 0) throw new Error('README.md has no "## Tour" heading');
  const commands: TourCommand[] = [];
  let current: TourCommand | undefined;
  let fence: "sh" | "other" | undefined;
  let continued = false;
  for (const [i, line] of lines.entries()) {
    if (i <= start) continue;
    if (!fence) {
      if (line.startsWith("## ")) break;
      if (line.startsWith("```")) fence = line === "```sh" ? "sh" : "other";
      current = undefined;
      continue;
    }
    if (line.startsWith("```")) {
      if (continued) throw new Error(`README.md:${i + 1}: the block ends inside a command`);
      fence = undefined;
      continue;
    }
    if (fence === "other") continue;
    if (line === "#" || line.startsWith("# ")) {
      if (!current || continued) throw new Error(`README.md:${i + 1}: an output line with no command above it`);
      current.shown.push(line.slice(2));
    } else if (current && continued) {
      current.text += `\n${line}`;
    } else if (line.trim() !== "") {
      current = { text: line, shown: [], line: i + 1 };
      commands.push(current);
    }
    continued = line.endsWith("\\");
  }
  return commands;
}

/**
 * What varies between runs, each with the pattern it becomes: ISO times, tokens (runs of 32 or
 * more base64 characters with a digit and a letter) and ids (10 or more digits). Shorter numbers
 * (statuses, codes, sequences) are compared as written.
 */
const VARYING = /(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z)|([A-Za-z0-9+/=_-]{32,})|(\d{10,})/g;

export function shapeOf(shown: string): RegExp {
  let pattern = "";
  let last = 0;
  for (const match of shown.matchAll(VARYING)) {
    const [text, time, token] = match;
    let wildcard: string | undefined;
    if (time) wildcard = String.raw`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z`;
    else if (!token) wildcard = String.raw`\d+`;
    else if (/\d/.test(token) && /[A-Za-z]/.test(token)) wildcard = "[A-Za-z0-9+/=_-]+";
    if (!wildcard) continue;
    pattern += escape(shown.slice(last, match.index)) + wildcard;
    last = match.index + text.length;
  }
  return new RegExp(`^${pattern}${escape(shown.slice(last))}$`);
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/** The project as a reader's folder: links to everything in it but data/ and .git. */
function projectCopy(): string {
  const dir = mkdtempSync(join(tmpdir(), "zus-tour-"));
  for (const entry of readdirSync(ROOT)) {
    if (entry !== "data" && entry !== ".git") symlinkSync(join(ROOT, entry), join(dir, entry));
  }
  return dir;
}

function readerEnv(dataDir: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(npm_|INIT_CWD$|PORT$|HOST$|TEST_DATABASE$)/.test(name)) env[name] = value;
  }
  return { ...env, DATABASE_URL: join(dataDir, "zitadel.db"), ADMIN_TOKEN_FILE: join(dataDir, "admin.pat") };
}

interface SessionResult {
  exitCode: number | null;
  /** How many commands started; the last one that started is the one that failed, if any did. */
  started: number;
  outputs: string[];
  /** What bash itself printed outside the commands' output (a syntax error, say). */
  shell: string;
}

const SESSION_TIMEOUT_MS = 90_000;

function runSession(commands: TourCommand[], address: string, cwd: string, env: NodeJS.ProcessEnv): Promise<SessionResult> {
  const outDir = mkdtempSync(join(tmpdir(), "zus-tour-out-"));
  const outFile = (i: number) => join(outDir, `${i}.out`);
  const progress = join(outDir, "started");
  const script = ["set -e -o pipefail", "set -o history -o histexpand"];
  commands.forEach((command, i) => {
    script.push(`echo ${i + 1} > '${progress}'`);
    script.push(`{\n${command.text.replaceAll("localhost:8080", address)}\n} > '${outFile(i)}' 2>&1 < /dev/null`);
  });
  writeFileSync(join(outDir, "tour.sh"), `${script.join("\n")}\n`);
  return new Promise((resolveRun, reject) => {
    const bash = spawn("bash", [join(outDir, "tour.sh")], { cwd, env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let shell = "";
    bash.stdout!.on("data", (chunk) => (shell += chunk));
    bash.stderr!.on("data", (chunk) => (shell += chunk));
    // The whole process group, so that a command bash is waiting for goes too.
    const timer = setTimeout(() => {
      try {
        process.kill(-bash.pid!, "SIGKILL");
      } catch {
        // already gone
      }
    }, SESSION_TIMEOUT_MS);
    bash.once("error", reject);
    bash.once("close", (exitCode) => {
      clearTimeout(timer);
      try {
        const started = existsSync(progress) ? Number(readFileSync(progress, "utf8").trim()) : 0;
        const outputs = commands.slice(0, started).map((_, i) => (existsSync(outFile(i)) ? readFileSync(outFile(i), "utf8") : ""));
        resolveRun({ exitCode, started, outputs, shell });
      } catch (err) {
        reject(err);
      } finally {
        rmSync(outDir, { recursive: true, force: true });
      }
    });
  });
}

function outputLines(output: string): string[] {
  const text = output.endsWith("\n") ? output.slice(0, -1) : output;
  return text === "" ? [] : text.split("\n");
}

describe("the README's tour", () => {
  it("reads a shown line as its shape: ids, times and tokens vary, the rest does not", () => {
    const shape = shapeOf('{"code":9,"userId":"387561714581203240","changeDate":"2026-12-05T11:11:53.357Z"} 200');
    expect(shape.test('{"code":9,"userId":"387561805231041275","changeDate":"2026-12-06T01:02:03Z"} 200')).toBe(true);
    expect(shape.test('{"code":9,"userId":"387561805231041275","changeDate":"2026-12-06T01:02:03Z"} 404')).toBe(false);
    expect(shape.test('{"code":5,"userId":"387561805231041275","changeDate":"2026-12-06T01:02:03Z"} 200')).toBe(false);
    const token = shapeOf("387561756615425722 wPh3CghaJZ_z3w07qzFhF0MnmIBd2evRTaCpWCypeBU");
    expect(token.test("387561805231041275 PbwRQwp6AQZh-IAHXx42D313VV0bEaaUZLQu_MuwUgk")).toBe(true);
    expect(token.test("387561805231041275")).toBe(false);
    expect(shapeOf('"state": "USER_STATE_ACTIVE",').test('"state": "USER_STATE_LOCKED",')).toBe(false);
  });

  it("runs as shown against a fresh server", { timeout: SESSION_TIMEOUT_MS + 60_000 }, async () => {
    const commands = tourCommands(readFileSync(join(ROOT, "README.md"), "utf8"));
    expect(commands.length, "commands in the README's tour").toBeGreaterThanOrEqual(7);
    const cwd = projectCopy();
    const dataDir = join(cwd, "data");
    const server = await startServer({ dataDir, env: { DATABASE_URL: join(dataDir, "zitadel.db") } }).catch((err) => {
      rmSync(cwd, { recursive: true, force: true });
      throw err;
    });
    try {
      const result = await runSession(commands, `127.0.0.1:${server.port}`, cwd, readerEnv(dataDir));
      commands.slice(0, result.started).forEach((command, i) => {
        const output = result.outputs[i] ?? "";
        const where = `README.md:${command.line}: ${command.text}\nprinted:\n${output}${result.shell && `\nbash printed:\n${result.shell}`}`;
        if (i === result.started - 1 && result.exitCode !== 0) {
          expect.fail(`${where}\nit exited with ${result.exitCode ?? "a timeout"}`);
        }
        const printed = outputLines(output);
        expect(printed.length, `${where}\nlines printed, against the README's`).toBe(command.shown.length);
        command.shown.forEach((shown, j) => expect(printed[j], where).toMatch(shapeOf(shown)));
      });
      expect(result.started, `commands run\n${result.shell}`).toBe(commands.length);
      expect(result.exitCode, result.shell).toBe(0);
    } finally {
      await server.stop();
      rmSync(cwd, { recursive: true, force: true });
    }
  });
});

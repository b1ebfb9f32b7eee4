/** Parsing the admin command line; asking for help is not a mistake (exit 0), every mistake is a UsageError (exit code 2). */
import { parseArgs } from "node:util";
import type { LockoutPolicy, PolicyScope } from "../domain/lockout.js";
import { isRole, ROLES, type Role } from "../domain/permissions.js";

export const USAGE = `usage:
  npm run --silent cli -- help | --help | -h
  npm run --silent cli -- org add --name NAME
  npm run --silent cli -- machine add --org ORG_ID --username NAME --role ROLE
  npm run --silent cli -- lockout set [--org ORG_ID] --max-password-attempts N [--max-otp-attempts N] [--lock-duration DURATION]
roles: ${ROLES.join(", ")}
DURATION: like 90s, 15m, 1h30m; without it a lockout lasts until an administrator unlocks`;

export class UsageError extends Error {}

export type Command =
  | { kind: "help" }
  | { kind: "org"; name: string }
  | { kind: "machine"; orgId: string; username: string; role: Role }
  | { kind: "lockout"; scope: PolicyScope; policy: LockoutPolicy };

const OPTIONS = {
  name: { type: "string" },
  org: { type: "string" },
  username: { type: "string" },
  role: { type: "string" },
  "max-password-attempts": { type: "string" },
  "max-otp-attempts": { type: "string" },
  "lock-duration": { type: "string" },
} as const;

type Values = Partial<Record<keyof typeof OPTIONS, string>>;

/** Which options each command takes; any other is a usage error. */
const ALLOWED: Record<string, (keyof typeof OPTIONS)[]> = {
  "org add": ["name"],
  "machine add": ["org", "username", "role"],
  "lockout set": ["org", "max-password-attempts", "max-otp-attempts", "lock-duration"],
};

/** `help` as the command, or `--help`/`-h` anywhere before a `--`, whatever else is given. */
const HELP_FLAGS = new Set(["--help", "-h"]);
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return argv[0] === "help" || (end === -1 ? argv : argv.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

export function parseCommand(argv: string[]): Command {
  if (asksForHelp(argv)) return { kind: "help" };
  let positionals: string[];
  let values: Values;
  try {
    ({ positionals, values } = parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const command = positionals.join(" ");
  const allowed = ALLOWED[command];
  if (!allowed) throw new UsageError(command ? `unknown command: ${command}` : "no command given");
  const extra = Object.keys(values).find((option) => !allowed.includes(option as keyof typeof OPTIONS));
  if (extra) throw new UsageError(`${command} does not take --${extra}`);

  const required = (option: keyof typeof OPTIONS) => {
    const value = values[option]?.trim();
    if (!value) throw new UsageError(`${command} needs --${option}`);
    return value;
  };
  switch (command) {
    case "org add":
      return { kind: "org", name: required("name") };
    case "machine add": {
      const role = required("role");
      if (!isRole(role)) throw new UsageError(`unknown role "${role}"`);
      return { kind: "machine", orgId: required("org"), username: required("username"), role };
    }
    default: {
      const org = values.org?.trim();
      if (values.org !== undefined && !org) throw new UsageError("--org needs a value");
      const duration = values["lock-duration"];
      return {
        kind: "lockout",
        scope: org ? { org } : "instance",
        policy: {
          maxPasswordAttempts: count("max-password-attempts", required("max-password-attempts")),
          maxOtpAttempts: values["max-otp-attempts"] === undefined ? 0 : count("max-otp-attempts", values["max-otp-attempts"]),
          lockDurationSeconds: duration === undefined ? undefined : seconds(duration),
        },
      };
    }
  }
}

function count(option: string, raw: string): number {
  if (!/^\d{1,6}$/.test(raw)) throw new UsageError(`--${option} must be a whole number (0 means never)`);
  return Number(raw);
}

/** "1h30m", "15m", "90s": hours, minutes and seconds, in that order, each at most once. */
function seconds(raw: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  const total = match ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) : 0;
  if (!match || total <= 0 || total > 2 ** 31 - 1) throw new UsageError(`--lock-duration "${raw}" is not a duration like 90s, 15m or 1h30m`);
  return total;
}

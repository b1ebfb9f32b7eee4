/** Parsing the admin command line; asking for help is not a mistake (exit 0), every mistake is a UsageError (exit code 2). */
import { parseArgs } from "node:util";
import type { LockoutPolicy, PolicyScope } from "../domain/lockout.js";
import { isRole, ROLES, type Role } from "../domain/permissions.js";

export const DEFAULT_SERVER = "http://localhost:8080";

export const USAGE = `usage:
  npm run --silent cli -- help | --help | -h
  npm run --silent cli -- org add --name NAME
  npm run --silent cli -- machine add --org ORG_ID --username NAME --role ROLE
  npm run --silent cli -- lockout set [--org ORG_ID] --max-password-attempts N [--max-otp-attempts N] [--lock-duration DURATION]
  npm run --silent cli -- user lock USER_ID... [--reason TEXT] [--for DURATION] [--server URL]
  npm run --silent cli -- user unlock USER_ID... [--server URL]
  npm run --silent cli -- user history USER_ID [--server URL]
  npm run --silent cli -- events watch [--org ORG_ID] [--user USER_ID] [--type TYPE]... [--from POSITION] [--server URL]
  npm run --silent cli -- ssf keys | ssf rotate-key | ssf retire-key KID
  npm run --silent cli -- deliveries [--server URL]
  npm run --silent cli -- deliveries parked [--destination DESTINATION] [--server URL]
  npm run --silent cli -- deliveries retry DELIVERY_ID... | --destination DESTINATION [--server URL]
roles: ${ROLES.join(", ")}
DURATION: like 90s, 15m, 1h30m; without it a lockout or lock lasts until an administrator unlocks
org, machine, lockout and ssf use the database of DATABASE_URL; user, events and deliveries call the server at
--server (default ${DEFAULT_SERVER}) with the token in ZUS_TOKEN, else the admin token the
server wrote on its first start (ADMIN_TOKEN_FILE, default ./data/admin.pat)
events watch prints events until Ctrl-C, then the position to resume from with --from
ssf keys lists the Shared Signals signing keys (the signing one first); rotate-key makes a new
signing key, the old one stays published until retire-key removes it
deliveries lists each destination (target:ID, stream:ID) with deliveries waiting or parked; parked
lists the parked ones; retry sends those named, or every parked one of a destination, again`;

export class UsageError extends Error {}

/** The commands that are clients of the running server's API. */
export type ApiCommand =
  | { kind: "lock"; server: URL; userIds: string[]; reason: string; forSeconds?: number }
  | { kind: "unlock"; server: URL; userIds: string[] }
  | { kind: "history"; server: URL; userId: string }
  | { kind: "watch"; server: URL; orgId: string; userId: string; types: string[]; from: string }
  | DeliveryCommand;

/** The outbox's destinations and parked deliveries (delivery-commands.ts). */
export type DeliveryCommand =
  | { kind: "destinations"; server: URL }
  | { kind: "parked"; server: URL; destination: string }
  | { kind: "retry"; server: URL; ids: bigint[]; destination: string };

/** The Shared Signals transmitter's signing keys (app/ssf/signing-keys.ts). */
export type KeyCommand = { kind: "keys" } | { kind: "rotate-key" } | { kind: "retire-key"; kid: string };

export type Command =
  | { kind: "help" }
  | KeyCommand
  | { kind: "org"; name: string }
  | { kind: "machine"; orgId: string; username: string; role: Role }
  | { kind: "lockout"; scope: PolicyScope; policy: LockoutPolicy }
  | ApiCommand;

const OPTIONS = {
  name: { type: "string" },
  org: { type: "string" },
  username: { type: "string" },
  role: { type: "string" },
  "max-password-attempts": { type: "string" },
  "max-otp-attempts": { type: "string" },
  "lock-duration": { type: "string" },
  reason: { type: "string" },
  for: { type: "string" },
  server: { type: "string" },
  user: { type: "string" },
  type: { type: "string", multiple: true },
  from: { type: "string" },
  destination: { type: "string" },
} as const;

type Option = keyof typeof OPTIONS;

/**
 * Which options each command takes (any other is a usage error) and how many ids (user ids, else
 * `idName`) follow it; "any" leaves the count to the command.
 */
const COMMANDS: Record<string, { options: Option[]; ids: "none" | "one" | "some" | "any"; idName?: string }> = {
  "org add": { options: ["name"], ids: "none" },
  "machine add": { options: ["org", "username", "role"], ids: "none" },
  "lockout set": { options: ["org", "max-password-attempts", "max-otp-attempts", "lock-duration"], ids: "none" },
  "user lock": { options: ["reason", "for", "server"], ids: "some" },
  "user unlock": { options: ["server"], ids: "some" },
  "user history": { options: ["server"], ids: "one" },
  "events watch": { options: ["org", "user", "type", "from", "server"], ids: "none" },
  "ssf keys": { options: [], ids: "none" },
  "ssf rotate-key": { options: [], ids: "none" },
  "ssf retire-key": { options: [], ids: "one", idName: "key id (kid)" },
  deliveries: { options: ["server"], ids: "none" },
  "deliveries parked": { options: ["destination", "server"], ids: "none" },
  "deliveries retry": { options: ["destination", "server"], ids: "any" },
};

/** `help` as the command, or `--help`/`-h` anywhere before a `--`, whatever else is given. */
const HELP_FLAGS = new Set(["--help", "-h"]);
function asksForHelp(argv: string[]): boolean {
  const end = argv.indexOf("--");
  return argv[0] === "help" || (end === -1 ? argv : argv.slice(0, end)).some((arg) => HELP_FLAGS.has(arg));
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: OPTIONS });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export function parseCommand(argv: string[]): Command {
  if (asksForHelp(argv)) return { kind: "help" };
  const { positionals, values } = parse(argv);
  const [group, verb, ...ids] = positionals;
  const command = [group, verb].filter((word) => word !== undefined).join(" ");
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(command ? `unknown command: ${command}` : "no command given");
  const extra = Object.keys(values).find((option) => !spec.options.includes(option as Option));
  if (extra) throw new UsageError(`${command} does not take --${extra}`);
  if (spec.ids === "none" && ids.length > 0) throw new UsageError(`${command} takes no arguments, got "${ids[0]}"`);
  if (spec.ids === "one" && ids.length !== 1) throw new UsageError(`${command} takes one ${spec.idName ?? "user id"}`);
  if (spec.ids === "some" && ids.length === 0) throw new UsageError(`${command} needs at least one user id`);

  const required = (option: "name" | "org" | "username" | "role" | "max-password-attempts") => {
    const value = values[option]?.trim();
    if (!value) throw new UsageError(`${command} needs --${option}`);
    return value;
  };
  /** An option that may be left out, but not given empty. */
  const optional = (option: "org" | "user" | "from" | "destination") => {
    const value = values[option]?.trim();
    if (values[option] !== undefined && !value) throw new UsageError(`--${option} needs a value`);
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
    case "ssf keys":
      return { kind: "keys" };
    case "ssf rotate-key":
      return { kind: "rotate-key" };
    case "ssf retire-key":
      return { kind: "retire-key", kid: ids[0]! };
    case "lockout set": {
      const org = optional("org");
      const duration = values["lock-duration"];
      return {
        kind: "lockout",
        scope: org ? { org } : "instance",
        policy: {
          maxPasswordAttempts: count("max-password-attempts", required("max-password-attempts")),
          maxOtpAttempts: values["max-otp-attempts"] === undefined ? 0 : count("max-otp-attempts", values["max-otp-attempts"]),
          lockDurationSeconds: duration === undefined ? undefined : seconds("lock-duration", duration),
        },
      };
    }
  }
  const server = serverUrl(values.server ?? DEFAULT_SERVER);
  switch (command) {
    case "user lock":
      return { kind: "lock", server, userIds: ids, reason: values.reason ?? "", forSeconds: values.for === undefined ? undefined : seconds("for", values.for) };
    case "user unlock":
      return { kind: "unlock", server, userIds: ids };
    case "user history":
      return { kind: "history", server, userId: ids[0]! };
    case "deliveries":
      return { kind: "destinations", server };
    case "deliveries parked":
      return { kind: "parked", server, destination: optional("destination") ?? "" };
    case "deliveries retry": {
      const destination = optional("destination") ?? "";
      if ((ids.length === 0) === (destination === "")) throw new UsageError("deliveries retry takes delivery ids or --destination, one of the two");
      return { kind: "retry", server, ids: ids.map(deliveryId), destination };
    }
    default: {
      const types = values.type ?? [];
      if (types.some((type) => !type.trim())) throw new UsageError("--type needs a value");
      return { kind: "watch", server, orgId: optional("org") ?? "", userId: optional("user") ?? "", types, from: optional("from") ?? "" };
    }
  }
}

function deliveryId(raw: string): bigint {
  if (!/^[1-9][0-9]{0,18}$/.test(raw)) throw new UsageError(`"${raw}" is not a delivery id (deliveries parked lists them)`);
  return BigInt(raw);
}

function count(option: string, raw: string): number {
  if (!/^\d{1,6}$/.test(raw)) throw new UsageError(`--${option} must be a whole number (0 means never)`);
  return Number(raw);
}

/** "1h30m", "15m", "90s": hours, minutes and seconds, in that order, each at most once. */
function seconds(option: string, raw: string): number {
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(raw);
  const total = match ? Number(match[1] ?? 0) * 3600 + Number(match[2] ?? 0) * 60 + Number(match[3] ?? 0) : 0;
  if (!match || total <= 0 || total > 2 ** 31 - 1) throw new UsageError(`--${option} "${raw}" is not a duration like 90s, 15m or 1h30m`);
  return total;
}

function serverUrl(raw: string): URL {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (url?.protocol !== "http:" && url?.protocol !== "https:") throw new UsageError(`--server "${raw}" is not an http:// or https:// URL`);
  return url;
}

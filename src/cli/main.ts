/**
 * Admin command line for what the API does not cover yet (SPEC §7):
 *   org add --name NAME
 *   machine add --org ORG_ID --username NAME --role ROLE
 * Uses the same DATABASE_URL as the server and works while it runs.
 */
import { parseArgs } from "node:util";
import { UserApp } from "../app.js";
import { loadConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import { isRole, ROLES } from "../domain/permissions.js";
import { createLogger, logInternalError } from "../observability/logger.js";
import { openStore } from "../store/open.js";

const USAGE = `usage:
  npm run --silent cli -- org add --name NAME
  npm run --silent cli -- machine add --org ORG_ID --username NAME --role ROLE
roles: ${ROLES.join(", ")}`;

class UsageError extends Error {}

type Command = { kind: "org"; name: string } | { kind: "machine"; orgId: string; username: string; role: (typeof ROLES)[number] };

function parseCommand(argv: string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { name: { type: "string" }, org: { type: "string" }, username: { type: "string" }, role: { type: "string" } },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const { positionals, values } = parsed;
  const command = positionals.join(" ");
  if (command === "org add" && values.name?.trim() && !values.org && !values.username && !values.role) {
    return { kind: "org", name: values.name.trim() };
  }
  if (command === "machine add" && values.org && values.username?.trim() && values.role && !values.name) {
    if (!isRole(values.role)) throw new UsageError(`unknown role "${values.role}"`);
    return { kind: "machine", orgId: values.org, username: values.username.trim(), role: values.role };
  }
  throw new UsageError(positionals.length ? `unknown command or missing option: ${command}` : "no command given");
}

async function run(command: Command): Promise<string> {
  const config = loadConfig();
  const store = await openStore(config.databaseUrl, { poolSize: 1, logger: createLogger("error", 2) });
  try {
    const app = new UserApp(store);
    if (command.kind === "org") return (await app.addOrganization(command.name)).id;
    const { userId, token } = await app.addMachineUser(command.orgId, command.username, command.role);
    return `${userId} ${token}`;
  } finally {
    await store.close();
  }
}

async function main(argv: string[]): Promise<number> {
  let command: Command;
  try {
    command = parseCommand(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`error: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  try {
    process.stdout.write(`${await run(command)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof DomainError) process.stderr.write(`error: ${err.message}\n`);
    else logInternalError(createLogger("error", 2), err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

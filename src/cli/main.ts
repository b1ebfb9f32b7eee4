/**
 * Admin command line; see USAGE. For what the API does not cover (SPEC §7 and the lockout policy)
 * it uses the same DATABASE_URL as the server and works while it runs; `user` and `events` go
 * through the running server's API (user-commands.ts).
 */
import { UserApp } from "../app/user-app.js";
import { loadConfig } from "../config.js";
import { DomainError } from "../domain/errors.js";
import { createLogger, logInternalError } from "../observability/logger.js";
import { SettingsApp } from "../app/settings.js";
import { SigningKeys } from "../app/ssf/signing-keys.js";
import { openStore } from "../store/open.js";
import { CliFailure } from "./api-client.js";
import { parseCommand, USAGE, UsageError, type ApiCommand, type Command } from "./commands.js";
import { runApiCommand } from "./user-commands.js";

type DatabaseCommand = Exclude<Command, { kind: "help" } | ApiCommand>;
/** The API's commands are the ones that name a server. */
const isApiCommand = (command: Command): command is ApiCommand => "server" in command;

async function run(command: DatabaseCommand): Promise<string> {
  const config = loadConfig();
  const store = await openStore(config.databaseUrl, { poolSize: 1, logger: createLogger("error", 2), owner: false });
  try {
    const app = new UserApp(store);
    switch (command.kind) {
      case "org":
        return (await app.addOrganization(command.name)).id;
      case "machine": {
        const { userId, token } = await app.addMachineUser(command.orgId, command.username, command.role);
        return `${userId} ${token}`;
      }
      case "lockout":
        await new SettingsApp(store).setLockout(command.scope, command.policy);
        return command.scope === "instance" ? "instance" : command.scope.org;
      case "keys":
        return (await new SigningKeys(store.ssf).list())
          .map(({ kid, createdAt, rotatedAt }) => `${kid} ${rotatedAt ? `rotated-out ${rotatedAt.toISOString()}` : "signing"} created ${createdAt.toISOString()}`)
          .join("\n");
      case "rotate-key":
        return (await new SigningKeys(store.ssf).rotate()).kid;
      case "retire-key":
        await new SigningKeys(store.ssf).retire(command.kid);
        return command.kid;
    }
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
  if (command.kind === "help") {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  try {
    if (isApiCommand(command)) return await runApiCommand(command);
    process.stdout.write(`${await run(command)}\n`);
    return 0;
  } catch (err) {
    if (err instanceof DomainError || err instanceof CliFailure) process.stderr.write(`error: ${err.message}\n`);
    else logInternalError(createLogger("error", 2), err);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));

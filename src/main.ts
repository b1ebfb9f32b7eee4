/**
 * config → one server process (WORKERS=1), or a cluster: the primary (primary.ts) and the
 * WORKERS server processes it forks, each running serve.ts on the one port.
 */
import cluster from "node:cluster";
import { loadConfig } from "./config.js";
import { createLogger } from "./observability/logger.js";
import { runPrimary } from "./primary.js";
import { serve } from "./serve.js";
import { startFailureText } from "./store/open.js";

/** Known once the configuration is read: a start that fails after it may be on a full disk there. */
let databaseUrl: string | undefined;

async function main() {
  const config = loadConfig();
  databaseUrl = config.databaseUrl;
  if (config.workers === 1) return serve(config, createLogger(config.logLevel), false);
  // Every line says which process wrote it: the workers share the primary's stdout.
  if (cluster.isPrimary) return runPrimary(config, createLogger(config.logLevel, 1, { primary: process.pid }));
  return serve(config, createLogger(config.logLevel, 1, { worker: process.pid }), true);
}

main().catch((err: unknown) => {
  // One line on stderr, no stack: what went wrong is the operator's to fix (a full disk, a bad setting).
  createLogger("error", 2).fatal({ error: startFailureText(databaseUrl, err) }, "failed to start");
  process.exit(1);
});

/** The single request handler behind every protocol on the port. */
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { UserApp } from "./app.js";
import type { Config } from "./config.js";
import { logInternalError } from "./log.js";
import type { RequestHandler } from "./server.js";
import { routes } from "./transport/routes.js";

export function createHandler(app: UserApp, config: Pick<Config, "maxBodyBytes">): RequestHandler {
  return connectNodeAdapter({
    routes: routes(app, logInternalError),
    readMaxBytes: config.maxBodyBytes,
    // Unknown JSON keys are refused, as unknown binary fields are (SPEC §5).
    jsonOptions: { ignoreUnknownFields: false },
  }) as RequestHandler;
}

/** Every service and its interceptors, shared by the server and the in-memory tests. */
import type { ConnectRouter } from "@connectrpc/connect";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { UserApp } from "../app.js";
import { authInterceptor, errorInterceptor, unknownFieldInterceptor } from "./interceptors.js";
import { userService } from "./user-service.js";

export function routes(app: UserApp, onInternal: (err: unknown) => void) {
  return (router: ConnectRouter) => {
    router.service(UserService, userService(app), {
      interceptors: [errorInterceptor(onInternal), authInterceptor(app), unknownFieldInterceptor],
    });
  };
}

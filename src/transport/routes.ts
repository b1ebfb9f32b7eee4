/** Every service and its interceptors, shared by the server and the in-memory tests. */
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { UserApp } from "../app.js";
import type { Readiness } from "../readiness.js";
import { healthService } from "./health.js";
import { authInterceptor, errorInterceptor, unknownFieldInterceptor } from "./interceptors.js";
import { registerReflection } from "./reflection.js";
import { userService } from "./user-service.js";

/** The services clients call, as listed by reflection and served over REST. */
export const API_SERVICES = [UserService];

export function routes(app: UserApp, readiness: Readiness, onInternal: (err: unknown) => void) {
  return (router: ConnectRouter) => {
    router.service(UserService, userService(app), {
      interceptors: [errorInterceptor(onInternal), authInterceptor(app), unknownFieldInterceptor],
    });
    router.service(Health, healthService(readiness, API_SERVICES.map((s) => s.typeName)), {
      interceptors: [errorInterceptor(onInternal)],
    });
    registerReflection(router, [...API_SERVICES, Health]);
  };
}

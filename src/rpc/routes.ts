/** Every service and its interceptors, registered on the fast or the stock path alike. */
import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { SessionService } from "../../gen/zitadel/session/v2/session_service_pb.js";
import { SettingsService } from "../../gen/zitadel/settings/v2/settings_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import type { ActionsApp } from "../app/actions.js";
import type { DeliveryAdmin } from "../app/delivery-admin.js";
import type { UserApp } from "../app/user-app.js";
import type { Readiness } from "../app/readiness.js";
import type { SettingsApp } from "../app/settings.js";
import type { SignInApp } from "../app/sign-in.js";
import type { Watching } from "../app/watch.js";
import { BenchService } from "../../gen/zus/bench/v1/bench_pb.js";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { actionService } from "./action-service.js";
import { benchService } from "./bench-service.js";
import { deliveryService } from "./delivery-service.js";
import { healthService } from "./health.js";
import { attemptLimitInterceptor, authInterceptor, errorInterceptor, heapAdmissionInterceptor, unknownFieldInterceptor, type HeapAdmission } from "./interceptors.js";
import { registerReflection } from "./reflection.js";
import { sessionService } from "./session-service.js";
import { settingsService } from "./settings-service.js";
import { userRecordService } from "./user-record-service.js";
import { userService } from "./user-service.js";

/** The services clients call, as listed by reflection and served over REST. */
export const API_SERVICES = [UserService, SessionService, SettingsService, UserRecordService, ActionService, DeliveryService];

export interface Apps {
  users: UserApp;
  signIn: SignInApp;
  settings: SettingsApp;
  watching: Watching;
  actions: ActionsApp;
  delivery: DeliveryAdmin;
}

export interface RouteOptions {
  benchNoop?: boolean;
  /** While high, every call but the health checks is refused, and pages of users beyond a budget (heapAdmissionInterceptor). */
  heap?: HeapAdmission;
}

export function routes(apps: Apps, readiness: Readiness, onInternal: (err: unknown) => void, options: RouteOptions = {}) {
  return (router: ConnectRouter) => {
    const admission = options.heap ? [heapAdmissionInterceptor(options.heap)] : [];
    const interceptors = [errorInterceptor(onInternal), ...admission, attemptLimitInterceptor, authInterceptor(apps.users), unknownFieldInterceptor];
    router.service(UserService, userService(apps.users), { interceptors });
    if (options.benchNoop) router.service(BenchService, benchService, { interceptors });
    router.service(SessionService, sessionService(apps.signIn), { interceptors });
    router.service(SettingsService, settingsService(apps.settings), { interceptors });
    router.service(UserRecordService, userRecordService(apps.users, apps.watching), { interceptors });
    router.service(ActionService, actionService(apps.actions), { interceptors });
    router.service(DeliveryService, deliveryService(apps.delivery), { interceptors });
    router.service(Health, healthService(readiness, API_SERVICES.map((s) => s.typeName)), {
      interceptors: [errorInterceptor(onInternal)],
    });
    registerReflection(router, [...API_SERVICES, Health]);
  };
}

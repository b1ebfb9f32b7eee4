/** What the fuzz suite aims at, read from the generated descriptors: every unary RPC and every REST route. */
import type { DescMethod } from "@bufbuild/protobuf";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import { SessionService } from "../../gen/zitadel/session/v2/session_service_pb.js";
import { SettingsService } from "../../gen/zitadel/settings/v2/settings_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { restRoutes, type RestRoute } from "../../src/edge/rest/http-rules.js";

const API_SERVICES = [UserService, SessionService, SettingsService, ActionService, UserRecordService, DeliveryService];

const rpcPath = (method: DescMethod) => `/${method.parent.typeName}/${method.name}`;

/**
 * Keyed by path, so fast-check prints a counterexample's method as its path. Streaming
 * methods (Health.Watch, reflection) are left out: a valid Watch call streams until
 * shutdown, so "an answer within the timeout" cannot hold for them.
 */
const RPC_METHODS: ReadonlyMap<string, DescMethod> = new Map(
  [...API_SERVICES, Health]
    .flatMap((service) => service.methods)
    .filter((method) => method.methodKind === "unary")
    .map((method) => [rpcPath(method), method]),
);

export const RPC_PATHS = [...RPC_METHODS.keys()];

export const methodAt = (path: string): DescMethod => RPC_METHODS.get(path)!;

/** The REST routes exactly as the server builds them from the google.api.http annotations. */
export const REST_ROUTES: readonly RestRoute[] = restRoutes(API_SERVICES);

/**
 * The page's clients of the server that served it: unary calls over gRPC-Web (binary), whose
 * errors arrive with HTTP 200, so a refused call leaves no network error in the browser's
 * console; the watch over the Connect protocol, whose server streams run over plain HTTP/1.1 fetch.
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ActionService } from "../../gen/zitadel/action/v2/action_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { readStreams, type StreamSummary } from "./ssf-streams.js";

export type UserClient = Client<typeof UserService>;
export type RecordClient = Client<typeof UserRecordService>;
export type ActionClient = Client<typeof ActionService>;
export type DeliveryClient = Client<typeof DeliveryService>;

export interface Clients {
  /** ZITADEL's UserService. */
  users: UserClient;
  /** Our zus.user.v1.UserRecordService: lock with a record, lock status, history, bulk. */
  records: RecordClient;
  /** The same service over the Connect protocol, for WatchUserEvents. */
  watch: RecordClient;
  /** ZITADEL's Actions v2 ActionService: targets and executions. */
  actions: ActionClient;
  /** Our zus.delivery.v1.DeliveryService: what waits for each destination, parked deliveries, retries. */
  deliveries: DeliveryClient;
  /** The Shared Signals streams the token may read, from the transmitter's management API (not an RPC). */
  streams(): Promise<StreamSummary[]>;
}

/** `onUnauthenticated` runs when the server refuses the token (revoked, or its owner locked). */
export function clients(token: string, onUnauthenticated?: () => void): Clients {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (onUnauthenticated && ConnectError.from(err).code === Code.Unauthenticated) onUnauthenticated();
      throw err;
    }
  };
  const grpcWeb = createGrpcWebTransport({ baseUrl: location.origin, interceptors: [bearer] });
  const connect = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true, interceptors: [bearer] });
  return {
    users: createClient(UserService, grpcWeb),
    records: createClient(UserRecordService, grpcWeb),
    watch: createClient(UserRecordService, connect),
    actions: createClient(ActionService, grpcWeb),
    deliveries: createClient(DeliveryService, grpcWeb),
    streams: () => readStreams(token, onUnauthenticated),
  };
}

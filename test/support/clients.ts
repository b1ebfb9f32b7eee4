/** Real Connect-ES clients for each protocol the server speaks. */
import { createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { SessionService } from "../../gen/zitadel/session/v2/session_service_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

export type Protocol = "grpc" | "grpc-web" | "connect-json";
export const PROTOCOLS: Protocol[] = ["grpc", "grpc-web", "connect-json"];

const bearer =
  (token: string | undefined): Interceptor =>
  (next) =>
  (req) => {
    if (token !== undefined) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

/** Connect with the binary codec too, for what differs by format (Connect JSON is what PROTOCOLS test). */
export function transport(protocol: Protocol | "connect-binary", baseUrl: string, token?: string): Transport {
  const interceptors = [bearer(token)];
  switch (protocol) {
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors });
    case "connect-json":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors });
    case "connect-binary":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: true, interceptors });
  }
}

export type UserClient = Client<typeof UserService>;

export function userClient(protocol: Protocol, baseUrl: string, token?: string): UserClient {
  return createClient(UserService, transport(protocol, baseUrl, token));
}

export type SessionClient = Client<typeof SessionService>;

export function sessionClient(protocol: Protocol, baseUrl: string, token?: string): SessionClient {
  return createClient(SessionService, transport(protocol, baseUrl, token));
}

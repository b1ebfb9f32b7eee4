/** The UserService client of the page: gRPC-Web (binary) to the server that served the page. */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

export type UserClient = Client<typeof UserService>;

/** `onUnauthenticated` runs when the server refuses the token (revoked, or its owner locked). */
export function userClient(token: string, onUnauthenticated?: () => void): UserClient {
  const bearer: Interceptor = (next) => async (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    try {
      return await next(req);
    } catch (err) {
      if (onUnauthenticated && ConnectError.from(err).code === Code.Unauthenticated) onUnauthenticated();
      throw err;
    }
  };
  return createClient(UserService, createGrpcWebTransport({ baseUrl: location.origin, interceptors: [bearer] }));
}

/**
 * Connect-ES's router (createConnectRouter) with gRPC's and gRPC-Web's unary methods served by
 * grpc-unary.ts and Connect's unary POST calls by connect-unary.ts; the streaming methods (and
 * Connect's GET calls) stay Connect-ES's. The options work as in createConnectRouter: a
 * service's own options replace the router's.
 */
import { createMethodImplSpec, createServiceImplSpec, type ConnectRouter } from "@connectrpc/connect";
import {
  createUniversalMethodHandler,
  createUniversalServiceHandlers,
  validateUniversalHandlerOptions,
  type UniversalHandler,
  type UniversalHandlerOptions,
} from "@connectrpc/connect/protocol";
import { createConnectHandlerFactory } from "./connect-unary.js";
import { createGrpcHandlerFactory, createGrpcWebHandlerFactory } from "./grpc-unary.js";

export function createRouter(routerOptions: Partial<UniversalHandlerOptions>): ConnectRouter {
  const base = validateUniversalHandlerOptions(routerOptions);
  // In Connect-ES's order: the first protocol whose content type matches serves the call.
  const protocols = (options?: Partial<UniversalHandlerOptions>) => {
    const opt = options ? { ...base, ...options } : base;
    return [createGrpcHandlerFactory(opt), createGrpcWebHandlerFactory(opt), createConnectHandlerFactory(opt)];
  };
  const handlers: UniversalHandler[] = [];
  const router: ConnectRouter = {
    handlers,
    service(service, implementation, options) {
      handlers.push(...createUniversalServiceHandlers(createServiceImplSpec(service, implementation), protocols(options)));
      return router;
    },
    rpc(method, impl, options) {
      handlers.push(createUniversalMethodHandler(createMethodImplSpec(method, impl), protocols(options)));
      return router;
    },
  };
  return router;
}

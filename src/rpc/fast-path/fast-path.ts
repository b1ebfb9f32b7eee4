/**
 * The fast path: Connect-ES's router with the unary calls of gRPC and gRPC-Web served by
 * grpc-unary.ts, Connect's unary POST calls by connect-unary.ts, and REST's calls handed
 * straight to the interceptors and the implementation (unary-context.ts), without a detour
 * through Connect JSON. Server-streaming calls of all three are server-stream.ts's; client and
 * bidirectional streams (reflection) and Connect's GET calls stay Connect-ES's. Why it
 * exists: Connect-ES's per-call contexts, abort signals and generator pipelines were most of a
 * unary call's garbage and its latency tail (bench/FINDINGS.md, "Why the fast path exists";
 * docs/architecture.md lists what it does differently). The options work as in
 * createConnectRouter: a service's own options replace the router's.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createMethodImplSpec, createServiceImplSpec, type ConnectRouter, type MethodImplSpec } from "@connectrpc/connect";
import {
  createUniversalMethodHandler,
  createUniversalServiceHandlers,
  validateUniversalHandlerOptions,
  type UniversalHandler,
  type UniversalHandlerOptions,
  type UniversalServerRequest,
} from "@connectrpc/connect/protocol";
import type { RpcHandlers } from "../rpc-handlers.js";
import { createConnectHandlerFactory } from "./connect-unary.js";
import { createGrpcHandlerFactory, createGrpcWebHandlerFactory } from "./grpc-unary.js";
import { CALL_FINISHED, createUnaryContext, unaryInvoker } from "./unary-context.js";

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;
type UnaryCall = (request: UniversalServerRequest, input: unknown) => Promise<unknown>;

export function createFastPath(routerOptions: Partial<UniversalHandlerOptions>): RpcHandlers {
  const base = validateUniversalHandlerOptions(routerOptions);
  // In Connect-ES's order: the first protocol whose content type matches serves the call.
  const protocols = (opt: typeof base) => [createGrpcHandlerFactory(opt), createGrpcWebHandlerFactory(opt), createConnectHandlerFactory(opt)];
  const handlers: UniversalHandler[] = [];
  const unaryCalls = new Map<DescMethod, UnaryCall>();
  const add = (specs: MethodImplSpec[], options?: Partial<UniversalHandlerOptions>) => {
    const opt = options ? { ...base, ...options } : base;
    for (const spec of specs) if (spec.kind === "unary") unaryCalls.set(spec.method, directCall(spec, opt));
    return protocols(opt);
  };
  const router: ConnectRouter = {
    handlers,
    service(service, implementation, options) {
      const spec = createServiceImplSpec(service, implementation);
      handlers.push(...createUniversalServiceHandlers(spec, add(Object.values(spec.methods), options)));
      return router;
    },
    rpc(method, impl, options) {
      const spec = createMethodImplSpec(method, impl);
      handlers.push(createUniversalMethodHandler(spec, add([spec], options)));
      return router;
    },
  };
  const unary = (async (method: DescMethod, request: UniversalServerRequest, input: unknown) => {
    const call = unaryCalls.get(method);
    if (!call) throw new ConnectError(`${method.name} is not served`, Code.Unimplemented);
    return call(request, input);
  }) as RpcHandlers["unary"];
  return { path: "fast", router, handlers: () => handlers, unary };
}

/** A unary call with its message decoded already: the same context and interceptors as the protocols'. */
function directCall(spec: UnarySpec, opt: ReturnType<typeof validateUniversalHandlerOptions>): UnaryCall {
  const invoke = unaryInvoker(spec, opt.interceptors);
  return async (request, input) => {
    const context = createUnaryContext({
      spec,
      protocolName: "rest",
      request,
      timeoutMs: undefined,
      shutdownSignal: opt.shutdownSignal,
      responseHeader: {},
      responseTrailer: {},
    });
    try {
      const output = await invoke(context, input);
      context.finish(CALL_FINISHED);
      return output;
    } catch (err) {
      context.finish(err);
      throw err instanceof ConnectError ? err : new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    }
  };
}

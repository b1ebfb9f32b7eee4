/**
 * The seam between the edge and the two ways this server can serve a call: the fast path
 * (rpc/fast-path/, the default) and Connect-ES's stock handlers (RPC_FAST_PATH=off), so that a
 * Connect-ES upgrade that breaks the fast path can always fall back. Both take the same services
 * (rpc/routes.ts) and give the same answers; test/connect-unary.test.ts and
 * test/grpc-unary.test.ts compare them, and CI runs the protocol suites on both.
 */
import type { DescMethod, DescMessage, MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, ConnectRouterOptions } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { readConnectEsAnswers } from "./connect-es-answers.js";
import { createFastPath } from "./fast-path/fast-path.js";
import { createStockPath } from "./stock-path.js";

export interface RpcHandlers {
  /** Which of the two serves the calls. */
  readonly path: RpcPath;
  /** Where the services are registered, with Connect-ES's interface. */
  readonly router: ConnectRouter;
  /** Connect, gRPC and gRPC-Web: one handler a method path. Each reports how its call ended into CALL_REPORT. */
  handlers(): UniversalHandler[];
  /**
   * A unary call whose message the caller decoded itself (REST): through the method's
   * interceptors and implementation, as the other protocols go. Throws a ConnectError.
   */
  unary<I extends DescMessage, O extends DescMessage>(
    method: DescMethod & { input: I; output: O },
    request: UniversalServerRequest,
    input: MessageShape<I>,
  ): Promise<MessageShape<O>>;
}

export type RpcPath = "fast" | "stock";

export function createRpcHandlers(path: RpcPath, options: ConnectRouterOptions): RpcHandlers {
  const served = path === "fast" ? createFastPath(options) : createStockPath(options);
  return { ...served, handlers: () => served.handlers().map(readConnectEsAnswers) };
}

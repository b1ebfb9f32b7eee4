/**
 * Every call through Connect-ES's stock handlers (RPC_FAST_PATH=off): the fallback when a
 * Connect-ES upgrade breaks the fast path, and the reference the fast path is compared with.
 * REST's calls go through the method's Connect JSON handler, since Connect-ES offers no public
 * way to call an implementation with its interceptors.
 */
import { fromJsonString, toJsonString, type DescMethod } from "@bufbuild/protobuf";
import { Code, ConnectError, createConnectRouter, type ConnectRouterOptions } from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { once, readAll } from "./byte-streams.js";
import { codeOfName } from "./call-report.js";
import { readConnectErrorBody } from "./connect-error-body.js";
import type { RpcHandlers } from "./rpc-handlers.js";

export function createStockPath(options: ConnectRouterOptions): RpcHandlers {
  const router = createConnectRouter(options);
  let byMethod: Map<DescMethod, UniversalHandler> | undefined;
  const unary = async (method: DescMethod, request: UniversalServerRequest, input: unknown) => {
    byMethod ??= new Map(router.handlers.map((h) => [h.method, h]));
    const handler = byMethod.get(method);
    if (!handler) throw new ConnectError(`${method.name} is not served`, Code.Unimplemented);
    // The request is the caller's own, changed in place: a copy would lose its signal (edge/universal-request.ts).
    const header = new Headers(request.header);
    header.set("content-type", "application/json");
    header.set("connect-protocol-version", "1");
    Object.assign(request, { method: "POST", header, body: once(Buffer.from(toJsonString(method.input, input as never))) });
    const answer = await handler(request);
    const body = await readAll(answer.body ?? once(new Uint8Array()));
    if (answer.status !== 200) throw connectErrorOf(body);
    return fromJsonString(method.output, body.toString("utf8"));
  };
  return { path: "stock", router, handlers: () => router.handlers, unary: unary as RpcHandlers["unary"] };
}

/** A Connect JSON error body as the ConnectError it was made from, its details still bytes. */
function connectErrorOf(bytes: Buffer): ConnectError {
  const body = readConnectErrorBody(bytes);
  const code = codeOfName(body.code ?? "");
  // Not Connect's error body: an internal error, as a client would read it.
  if (code === undefined) return new ConnectError("internal error", Code.Internal);
  const error = new ConnectError(body.message ?? "", code);
  for (const { type, value } of body.details ?? []) {
    if (type && value !== undefined) error.details.push({ type, value: Buffer.from(value, "base64"), debug: undefined });
  }
  return error;
}

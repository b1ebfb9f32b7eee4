/**
 * A unary method's implementation and interceptors that report what they were given, shared
 * by the comparisons of our unary handlers with Connect-ES's (grpc-unary, connect-unary).
 */
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextKey, createContextValues, createMethodImplSpec, type Interceptor } from "@connectrpc/connect";
import { compressionGzip } from "@connectrpc/connect-node";
import type { UniversalHandlerOptions } from "@connectrpc/connect/protocol";
import { GetUserByIDRequestSchema, UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

export const method = UserService.method.getUserByID;

/** Whether a deadline is set, as far as it can be compared between two calls. */
const deadline = (timeoutMs: number | undefined) => (timeoutMs === undefined ? "none" : timeoutMs > 0 ? "ahead" : "passed");

/**
 * Answers a user for any id but "missing" (NotFound with metadata), "boom" (a plain Error) and
 * "wait" (answers once its signal is aborted, with the signal's reason). It reports what its
 * context says in a header.
 */
export const spec = createMethodImplSpec(method, async (req, ctx) => {
  ctx.responseHeader.set("x-impl", "header");
  ctx.responseTrailer.set("x-impl-trailer", "trailer");
  const seen = [ctx.service.typeName, ctx.method.name, ctx.protocolName, ctx.requestMethod, ctx.url, ctx.requestHeader.get("x-custom"), ctx.values.get(SEEN_BY_INTERCEPTOR)];
  ctx.responseHeader.set("x-context", [...seen, deadline(ctx.timeoutMs()), ctx.signal.aborted].join(" "));
  if (req.userId === "missing") throw new ConnectError("User could not be found", Code.NotFound, { "x-error-meta": "1" });
  if (req.userId === "boom") throw new Error("not for the client");
  if (req.userId === "wait") await new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason)));
  return { user: { userId: req.userId, username: `name of ${req.userId}` } };
});

export const SEEN_BY_INTERCEPTOR = createContextKey("none", { description: "what the interceptor saw" });

/** Reports what the interceptors' request says, in a header and in the context values. */
const stamp: Interceptor = (next) => async (req) => {
  const seen = [req.stream, req.method.name, req.service.typeName, req.requestMethod, req.url, req.header.get("x-custom"), req.signal.aborted];
  req.contextValues.set(SEEN_BY_INTERCEPTOR, "interceptor");
  const res = await next(req);
  res.header.set("x-interceptor", "seen");
  res.header.set("x-interceptor-request", seen.join(" "));
  return res;
};

/** Asked by an "x-replace" header, passes on a request of its own, with other headers and values. */
const replace: Interceptor = (next) => async (req) => {
  if (!req.header.has("x-replace")) return next(req);
  const header = new Headers(req.header);
  header.set("x-custom", "replaced");
  return next({ ...req, header, contextValues: createContextValues().set(SEEN_BY_INTERCEPTOR, "replacement") });
};

export const OPTIONS: Partial<UniversalHandlerOptions> = { readMaxBytes: 64, interceptors: [stamp, replace], acceptCompression: [compressionGzip] };

export const idMessage = (userId: string) => toBinary(GetUserByIDRequestSchema, create(GetUserByIDRequestSchema, { userId }));

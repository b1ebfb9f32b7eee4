/**
 * The interceptors and implementation of a server-streaming method, called as Connect-ES's
 * transformInvokeImplementation calls them: the interceptors get a stream request whose
 * message is an async iterable of the input (read when the implementation's turn comes, so a
 * bad token is refused before a bad body, as there), and answer with the output messages.
 * Chained once per method, as unaryInvoker does (unary-context.ts).
 */
import type { Interceptor, MethodImplSpec, StreamRequest, StreamResponse } from "@connectrpc/connect";
import { Code, ConnectError } from "@connectrpc/connect";
import { CONTEXT, contextWithRequest, InterceptorRequest, replaceHeaders, type ContextRequest, type Next, type UnaryContext } from "./unary-context.js";

type StreamSpec = Extract<MethodImplSpec, { kind: "server_streaming" }>;

/** What the interceptors answered: the messages to send; its trailer is complete once they end. */
export type StreamOutput = Pick<StreamResponse, "message" | "trailer">;

export function serverStreamInvoker(
  spec: StreamSpec,
  interceptors: Interceptor[],
): (context: UnaryContext, input: AsyncIterable<unknown>) => Promise<StreamOutput> {
  const innermost = async (req: ContextRequest): Promise<StreamResponse> => {
    const context = req[CONTEXT];
    const implContext = req instanceof InterceptorRequest ? context : contextWithRequest(context, req);
    const input = await singleMessage(req.message as unknown as AsyncIterable<unknown>);
    return {
      stream: true,
      method: spec.method,
      service: spec.method.parent,
      message: spec.impl(input as never, implContext),
      header: context.responseHeader,
      trailer: context.responseTrailer,
    } as StreamResponse;
  };
  const chain = interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), innermost as Next);

  return async (context, input) => {
    const res = (await chain(new InterceptorRequest(context, input, true) as unknown as StreamRequest)) as StreamResponse;
    replaceHeaders(context.responseHeader, res.header);
    return res;
  };
}

/** Connect-ES's check that a server stream's request is one message (the readers check it too). */
async function singleMessage(messages: AsyncIterable<unknown>): Promise<unknown> {
  const it = messages[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done === true) throw new ConnectError("protocol error: missing input message for server-streaming method", Code.Unimplemented);
  const second = await it.next();
  if (second.done !== true) throw new ConnectError("protocol error: received extra input message for server-streaming method", Code.Unimplemented);
  return first.value;
}

/**
 * The context of a unary gRPC, gRPC-Web, Connect or REST call (grpc-unary.ts, connect-unary.ts,
 * fast-path.ts), and the call of its interceptors and implementation with it. A server stream's
 * context is the same (server-stream.ts; stream-invoker.ts calls its interceptors).
 *
 * Connect-ES's createHandlerContext makes, for every call, an abort controller for the
 * deadline (with its timer), another linked to it, to the request and to the server's
 * shutdown (a listener on each), and a copy of the request headers; its
 * invokeUnaryImplementation reads the signal for the interceptors' request (bench/FINDINGS.md,
 * "Per-call abort signals"). Nothing this server runs for a unary call reads the signal, so here
 * it is made the first time something does, linked to the same three and aborted the same
 * way; a call that never reads it pays for none of it. The context and the interceptors'
 * request carry Connect-ES's values, which test/grpc-unary.test.ts compares.
 */
import { create } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  createContextValues,
  type ContextValues,
  type HandlerContext,
  type Interceptor,
  type MethodImplSpec,
  type UnaryRequest,
  type UnaryResponse,
} from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";

type UnarySpec = Extract<MethodImplSpec, { kind: "unary" }>;
/** What an interceptor wraps and returns: the rest of the call. */
export type Next = Parameters<Interceptor>[0];

export interface UnaryContext extends HandlerContext {
  /** Ends the call: its signal, whether made already or later, is aborted with `reason`. */
  finish(reason: unknown): void;
}

export interface UnaryContextInit {
  spec: MethodImplSpec;
  protocolName: string;
  request: UniversalServerRequest;
  timeoutMs: number | undefined;
  shutdownSignal: AbortSignal | undefined;
  responseHeader: Record<string, string>;
  responseTrailer: Record<string, string>;
}

const NOT_FINISHED = Symbol("not finished");

/**
 * What a call that ended normally finishes with, and its signal, if something made it, is
 * aborted with: without a reason, abort() builds a DOMException with its stack.
 */
export const CALL_FINISHED = new ConnectError("the call has finished", Code.Canceled);

/*
 * Classes rather than object literals: a getter in a literal made per call (with the call's
 * closure) gives each object a hidden class of its own, which outlives scavenges with all it
 * reaches (bench/FINDINGS.md, "Hidden classes of per-call objects"); a getter on a prototype is shared.
 */

class CallContext implements UnaryContext {
  readonly method: MethodImplSpec["method"];
  readonly service: MethodImplSpec["method"]["parent"];
  readonly protocolName: string;
  readonly requestMethod: string;
  readonly url: string;
  readonly requestHeader: Headers;
  readonly responseHeader: Headers;
  readonly responseTrailer: Headers;
  readonly values: ContextValues;
  readonly timeoutMs: () => number | undefined;
  /** The signal follows these two; the request's is read only when the signal is made, as reading it can make it. */
  private readonly request: UniversalServerRequest;
  private readonly shutdownSignal: AbortSignal | undefined;
  private controller: AbortController | undefined;
  private finished: unknown = NOT_FINISHED;
  private release = () => {};

  constructor(init: UnaryContextInit) {
    const { spec, request } = init;
    this.method = spec.method;
    this.service = spec.method.parent;
    this.protocolName = init.protocolName;
    this.requestMethod = request.method;
    this.url = request.url;
    this.requestHeader = request.header;
    this.responseHeader = new Headers(init.responseHeader);
    this.responseTrailer = new Headers(init.responseTrailer);
    this.values = request.contextValues ?? createContextValues();
    const deadline = init.timeoutMs === undefined ? undefined : Date.now() + init.timeoutMs;
    // An own function, not a method: Connect-ES hands it around without its object.
    this.timeoutMs = () => (deadline === undefined ? undefined : deadline - Date.now());
    this.request = request;
    this.shutdownSignal = init.shutdownSignal;
  }

  get signal(): AbortSignal {
    return (this.controller ??= this.makeSignal()).signal;
  }

  finish(reason: unknown): void {
    if (this.finished !== NOT_FINISHED) return;
    this.finished = reason;
    this.release();
    this.controller?.abort(reason);
  }

  /** The signal as Connect-ES's would be: aborted by the deadline, the client leaving, or shutdown. */
  private makeSignal(): AbortController {
    const made = new AbortController();
    if (this.finished !== NOT_FINISHED) {
      made.abort(this.finished);
      return made;
    }
    const sources = [this.request.signal, this.shutdownSignal].filter((s): s is AbortSignal => s !== undefined);
    const onAbort = function (this: AbortSignal) {
      release();
      made.abort(this.reason);
    };
    let timer: NodeJS.Timeout | undefined;
    const release = (this.release = () => {
      clearTimeout(timer);
      for (const source of sources) source.removeEventListener("abort", onAbort);
    });
    const aborted = sources.find((s) => s.aborted);
    if (aborted) onAbort.call(aborted);
    else for (const source of sources) source.addEventListener("abort", onAbort);
    const left = this.timeoutMs();
    if (left !== undefined && !made.signal.aborted) {
      const expire = () => {
        release();
        made.abort(new ConnectError("the operation timed out", Code.DeadlineExceeded));
      };
      if (left <= 0) expire();
      else timer = setTimeout(expire, left);
    }
    return made;
  }
}

export function createUnaryContext(init: UnaryContextInit): UnaryContext {
  return new CallContext(init);
}

/** What the first interceptor's request carries besides Connect-ES's fields: the call's context. */
export const CONTEXT = Symbol("unary call context");

/**
 * The request the interceptors see, with Connect-ES's fields. Its signal is a getter on the
 * prototype, so a copy made by spreading it has none (the implementation still gets one).
 */
export class InterceptorRequest {
  readonly method: MethodImplSpec["method"];
  readonly service: MethodImplSpec["method"]["parent"];
  readonly requestMethod: string;
  readonly url: string;
  readonly header: Headers;
  readonly contextValues: ContextValues;
  readonly [CONTEXT]: UnaryContext;

  constructor(
    context: UnaryContext,
    readonly message: unknown,
    /** A stream's message is an async iterable of them. */
    readonly stream = false,
  ) {
    this.method = context.method;
    this.service = context.service;
    this.requestMethod = context.requestMethod;
    this.url = context.url;
    this.header = context.requestHeader;
    this.contextValues = context.values;
    this[CONTEXT] = context;
  }

  get signal(): AbortSignal {
    return this[CONTEXT].signal;
  }
}

/**
 * The implementation's context when an interceptor passed on a request of its own, as
 * Connect-ES merges them. Rare (no interceptor of this server does it), so a plain object.
 */
export function contextWithRequest(context: UnaryContext, req: Pick<UnaryRequest, "service" | "header" | "contextValues" | "signal">): HandlerContext {
  const { method, protocolName, requestMethod, url, timeoutMs, responseHeader, responseTrailer } = context;
  return {
    method,
    protocolName,
    requestMethod,
    url,
    timeoutMs,
    responseHeader,
    responseTrailer,
    service: req.service,
    requestHeader: req.header,
    values: req.contextValues,
    // A request spread into a new object leaves InterceptorRequest's getter behind.
    signal: req.signal ?? context.signal,
  };
}

export type ContextRequest = UnaryRequest & { [CONTEXT]: UnaryContext };

/**
 * The interceptors around the implementation, chained once per method (Connect-ES chains them
 * per call; interceptors are factories of a call's function and keep nothing between calls).
 * Returns what invokeUnaryImplementation would: the output message, its headers and trailers
 * in the context.
 */
export function unaryInvoker(
  spec: UnarySpec,
  interceptors: Interceptor[],
): (context: UnaryContext, input: unknown) => Promise<UnaryResponse["message"]> {
  const innermost = async (req: ContextRequest): Promise<UnaryResponse> => {
    const context = req[CONTEXT];
    // The request the interceptors were given carries the context's own header, values and signal.
    const implContext = req instanceof InterceptorRequest ? context : contextWithRequest(context, req);
    const output = await spec.impl(req.message as never, implContext);
    return {
      stream: false,
      method: spec.method,
      service: spec.method.parent,
      message: create(spec.method.output, output as never),
      header: context.responseHeader,
      trailer: context.responseTrailer,
    } as UnaryResponse;
  };
  const chain = interceptors.reduceRight<Next>((next, interceptor) => interceptor(next), innermost as Next);

  return async (context, input) => {
    const { message, header, trailer } = (await chain(new InterceptorRequest(context, input) as unknown as UnaryRequest)) as UnaryResponse;
    replaceHeaders(context.responseHeader, header);
    replaceHeaders(context.responseTrailer, trailer);
    return message;
  };
}

/** An interceptor may answer with headers of its own: they replace the context's. */
export function replaceHeaders(target: Headers, source: Headers): void {
  if (source === target) return;
  for (const key of [...target.keys()]) target.delete(key);
  source.forEach((value, key) => target.set(key, value));
}

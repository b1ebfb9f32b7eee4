/**
 * The signal of a unary call's context, made only when read (src/rpc/fast-path/unary-context.ts):
 * whenever it is made, it must say what Connect-ES's would at that moment: aborted by the
 * client leaving, by the server shutting down, by the deadline, or by the end of the call.
 */
import { Code, ConnectError, createMethodImplSpec } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { describe, expect, it } from "vitest";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { createUnaryContext } from "../src/rpc/fast-path/unary-context.js";

const spec = createMethodImplSpec(UserService.method.getUserByID, () => ({})) as Parameters<typeof createUnaryContext>[0]["spec"];

function contextFor(options: { timeoutMs?: number } = {}) {
  const client = new AbortController();
  const shutdown = new AbortController();
  let requestSignalReads = 0;
  const request: UniversalServerRequest = {
    httpVersion: "2.0",
    method: "POST",
    url: "http://localhost/zitadel.user.v2.UserService/GetUserByID",
    header: new Headers(),
    body: (async function* () {})(),
    // A getter, as the server's request makes its signal when first read (src/edge/universal-request.ts).
    get signal() {
      requestSignalReads++;
      return client.signal;
    },
  };
  const context = createUnaryContext({
    spec,
    protocolName: "grpc",
    request,
    timeoutMs: options.timeoutMs,
    shutdownSignal: shutdown.signal,
    responseHeader: {},
    responseTrailer: {},
  });
  return { context, client, shutdown, requestSignalReads: () => requestSignalReads };
}

const LEFT = new ConnectError("client left", Code.Canceled);
const FINISHED = new ConnectError("finished", Code.Canceled);

describe("unary call context", () => {
  it("reads the request's signal only when its own is read", () => {
    const { context, requestSignalReads } = contextFor({ timeoutMs: 1000 });
    expect(context.values).toBeDefined();
    expect(context.timeoutMs()).toBeGreaterThan(0);
    context.finish(FINISHED);
    expect(requestSignalReads()).toBe(0);
    const read = contextFor();
    void read.context.signal;
    expect(read.requestSignalReads()).toBe(1);
  });

  it("a signal read during the call is aborted when the client leaves, and only then", () => {
    const { context, client } = contextFor();
    const signal = context.signal;
    expect(signal.aborted).toBe(false);
    client.abort(LEFT);
    expect(signal.reason).toBe(LEFT);
  });

  it("a signal first read after the client left is aborted already", () => {
    const { context, client } = contextFor();
    client.abort(LEFT);
    expect(context.signal.reason).toBe(LEFT);
  });

  it("the server's shutdown aborts it, read before or after", () => {
    const before = contextFor();
    const signal = before.context.signal;
    before.shutdown.abort("stopping");
    expect(signal.reason).toBe("stopping");
    const after = contextFor();
    after.shutdown.abort("stopping");
    expect(after.context.signal.reason).toBe("stopping");
  });

  it("the end of the call aborts it with the call's reason, read before or after; later events change nothing", () => {
    const before = contextFor();
    const signal = before.context.signal;
    before.context.finish(FINISHED);
    before.client.abort(LEFT);
    expect(signal.reason).toBe(FINISHED);

    const after = contextFor();
    after.context.finish(FINISHED);
    after.client.abort(LEFT);
    expect(after.context.signal.reason).toBe(FINISHED);
  });

  it("the deadline aborts it with DeadlineExceeded, also when it passed before the first read", async () => {
    const timed = contextFor({ timeoutMs: 20 });
    const signal = timed.context.signal;
    expect(signal.aborted).toBe(false);
    const reason = await new Promise((resolve) => signal.addEventListener("abort", () => resolve(signal.reason)));
    expect(ConnectError.from(reason).code).toBe(Code.DeadlineExceeded);

    const late = contextFor({ timeoutMs: 5 });
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(late.context.timeoutMs()).toBeLessThan(0);
    expect(ConnectError.from(late.context.signal.reason).code).toBe(Code.DeadlineExceeded);
  });

  it("timeoutMs counts down from the deadline, and is undefined without one", async () => {
    expect(contextFor().context.timeoutMs()).toBeUndefined();
    const { context } = contextFor({ timeoutMs: 1000 });
    const first = context.timeoutMs()!;
    expect(first).toBeGreaterThan(900);
    expect(first).toBeLessThanOrEqual(1000);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(context.timeoutMs()!).toBeLessThan(first);
  });

  it("a finished call's timer and listeners are released: the deadline passing later changes nothing", async () => {
    const { context } = contextFor({ timeoutMs: 10 });
    const signal = context.signal;
    context.finish(FINISHED);
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(signal.reason).toBe(FINISHED);
  });
});

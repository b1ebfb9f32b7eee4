/** src/edge/universal-request.ts on a real node:http server: the request as Connect-ES sees it, when a call counts as cancelled, and that its signal is made only when read. */
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { connect, constants, createServer as createHttp2Server, type ClientHttp2Stream, type Http2Server } from "node:http2";
import type { AddressInfo } from "node:net";
import { Code, ConnectError } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { afterEach, describe, expect, it, vi } from "vitest";
import { readAll } from "../src/rpc/byte-streams.js";
import { universalRequest, type NodeRequest, type NodeResponse } from "../src/edge/universal-request.js";

let server: Server | Http2Server | undefined;
afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

/** Starts a server whose handler gets each request as a universal request. */
async function serve(handle: (uReq: UniversalServerRequest, res: ServerResponse, req: IncomingMessage) => void): Promise<number> {
  return listen(createServer((req, res) => handle(universalRequest(req, res), res, req)));
}

async function listen(started: Server | Http2Server): Promise<number> {
  server = started;
  await new Promise<void>((done) => started.listen(0, "127.0.0.1", done));
  return (started.address() as AddressInfo).port;
}

/** A POST over HTTP/2 that `leave`s, given the client stream, once the answer begins (or never). */
function http2Call(port: number, leave?: (stream: ClientHttp2Stream) => void): Promise<void> {
  const client = connect(`http://127.0.0.1:${port}`);
  const stream = client.request({ ":method": "POST", ":path": "/" });
  stream.on("error", () => undefined);
  if (leave) stream.once("data", () => leave(stream));
  stream.resume();
  stream.end();
  return new Promise<void>((done) => stream.once("close", () => client.close(done)));
}

/** What the answers of these tests use of a response, on either protocol. */
interface Answering {
  write(chunk: string): unknown;
  end(chunk: string): unknown;
}

/**
 * A server (HTTP/1.1, or HTTP/2 with `http2`) that answers one call with `answer`; its call's
 * signal, read once the response has closed, and with `readEarly` also read (made) before answering.
 */
async function watchSignal(
  answer: (res: Answering) => void,
  { readEarly = false, http2 = false } = {},
): Promise<{ port: number; signalOnceClosed: Promise<AbortSignal>; readEarly: () => AbortSignal | undefined }> {
  let closed!: (signal: AbortSignal) => void;
  const signalOnceClosed = new Promise<AbortSignal>((resolve) => (closed = resolve));
  let early: AbortSignal | undefined;
  const handle = (req: NodeRequest, res: NodeResponse) => {
    const uReq = universalRequest(req, res);
    if (readEarly) early = uReq.signal;
    // Registered after the request's own listener, so it runs after any abort.
    res.once("close", () => closed(uReq.signal));
    answer(res);
  };
  const port = await listen(http2 ? createHttp2Server(handle) : createServer(handle));
  return { port, signalOnceClosed, readEarly: () => early };
}

describe("universalRequest", () => {
  it("carries the method, absolute URL, headers and body bytes", async () => {
    let seen: { method: string; url: string; header: [string, string][]; body: string } | undefined;
    const port = await serve(async (uReq, res) => {
      const body = await readAll(uReq.body as AsyncIterable<Uint8Array>);
      seen = { method: uReq.method, url: uReq.url, header: [...uReq.header], body: body.toString() };
      res.end();
    });
    await new Promise<void>((done, fail) => {
      const req = request({ port, host: "127.0.0.1", method: "POST", path: "/a.B/C?x=1", headers: { "x-one": "1", "content-type": "application/json" } }, (res) => {
        res.resume();
        res.on("end", done);
      });
      req.on("error", fail);
      req.write('{"user');
      req.end('Id":"7"}');
    });
    expect(seen).toMatchObject({ method: "POST", url: `http://127.0.0.1:${port}/a.B/C?x=1`, body: '{"userId":"7"}' });
    expect(seen!.header).toContainEqual(["x-one", "1"]);
    expect(seen!.header).toContainEqual(["content-type", "application/json"]);
  });

  it("is not cancelled when the answer was sent", async () => {
    const call = await watchSignal((res) => res.end("ok"));
    await fetch(`http://127.0.0.1:${call.port}/`).then((r) => r.text());
    const signal = await call.signalOnceClosed;
    expect(signal.aborted).toBe(false);
  });

  it("makes no abort signal for a call that never reads it", async () => {
    let made = 0;
    const Original = globalThis.AbortController;
    vi.stubGlobal(
      "AbortController",
      class extends Original {
        constructor() {
          super();
          made++;
        }
      },
    );
    try {
      const port = await serve(async (uReq, res) => {
        await readAll(uReq.body as AsyncIterable<Uint8Array>);
        res.end(`${uReq.method} ${uReq.header.get("x-one")}`);
      });
      // node:http's client, as fetch makes an AbortController of its own.
      const answer = await new Promise<string>((done, fail) => {
        const req = request({ port, host: "127.0.0.1", method: "POST", path: "/", headers: { "x-one": "1" } }, (res) => {
          let text = "";
          res.on("data", (chunk: Buffer) => (text += chunk.toString()));
          res.on("end", () => done(text));
        });
        req.on("error", fail);
        req.end("x");
      });
      expect(answer).toBe("POST 1");
      expect(made).toBe(0);
    } finally {
      vi.unstubAllGlobals();
    }
  });

  it("aborts a signal read while the call ran, when the client leaves before the answer is complete", async () => {
    const call = await watchSignal((res) => res.write("partial"), { readEarly: true });
    const req = request({ port: call.port, host: "127.0.0.1", path: "/" }, (res) => res.once("data", () => req.destroy()));
    req.on("error", () => undefined);
    req.end();
    const signal = await call.signalOnceClosed;
    expect(signal).toBe(call.readEarly());
    expect(signal.aborted).toBe(true);
    expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
  });

  it("is cancelled, with code Canceled, when the client leaves before the answer is complete", async () => {
    const call = await watchSignal((res) => res.write("partial"));
    const req = request({ port: call.port, host: "127.0.0.1", path: "/" }, (res) => res.once("data", () => req.destroy()));
    req.on("error", () => undefined);
    req.end();
    const signal = await call.signalOnceClosed;
    expect(signal.aborted).toBe(true);
    expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
  });

  it("is cancelled from the start when it is made after its client left (REST reads the body first)", async () => {
    let made!: (signal: AbortSignal) => void;
    const signal = new Promise<AbortSignal>((resolve) => (made = resolve));
    const port = await listen(createServer((req, res) => res.once("close", () => made(universalRequest(req, res).signal))));
    const req = request({ port, host: "127.0.0.1", method: "POST", path: "/" });
    req.on("error", () => undefined);
    req.write("part of a body");
    setTimeout(() => req.destroy(), 20);
    expect((await signal).aborted).toBe(true);
  });
});

describe("universalRequest over HTTP/2", () => {
  it("is cancelled, with code Canceled, when the client cancels its stream before the answer is complete", async () => {
    const call = await watchSignal((res) => res.write("partial"), { http2: true });
    await http2Call(call.port, (stream) => stream.close(constants.NGHTTP2_CANCEL));
    const signal = await call.signalOnceClosed;
    expect(signal.aborted).toBe(true);
    expect(ConnectError.from(signal.reason).code).toBe(Code.Canceled);
  });

  it("aborts a signal read while the call ran, when the client cancels its stream", async () => {
    const call = await watchSignal((res) => res.write("partial"), { readEarly: true, http2: true });
    await http2Call(call.port, (stream) => stream.close(constants.NGHTTP2_CANCEL));
    const signal = await call.signalOnceClosed;
    expect(signal).toBe(call.readEarly());
    expect(signal.aborted).toBe(true);
  });

  it("is not cancelled when the answer was sent", async () => {
    const call = await watchSignal((res) => res.end("ok"), { http2: true });
    await http2Call(call.port);
    expect((await call.signalOnceClosed).aborted).toBe(false);
  });

  it("is cancelled from the start when it is made after its client left", async () => {
    let made!: (signal: AbortSignal) => void;
    const signal = new Promise<AbortSignal>((resolve) => (made = resolve));
    const port = await listen(createHttp2Server((req, res) => res.once("close", () => made(universalRequest(req, res).signal))));
    const client = connect(`http://127.0.0.1:${port}`);
    const stream = client.request({ ":method": "POST", ":path": "/" });
    stream.on("error", () => undefined);
    stream.write("part of a body");
    setTimeout(() => stream.close(constants.NGHTTP2_CANCEL, () => client.close()), 20);
    expect((await signal).aborted).toBe(true);
  });
});

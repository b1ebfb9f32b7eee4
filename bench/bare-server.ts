/**
 * The floor under every latency figure: a bare Node server that answers each call as soon as
 * its body has arrived, with nothing of ours in between. Run on the server's core
 * (`taskset -c 0 node --import tsx bench/bare-server.ts`) and measured by the same load
 * generators at the same rate as the real server, it shows what this machine, Node's own
 * HTTP stacks and the load generators take by themselves. Prints `{"grpc":PORT,"http":PORT}`.
 *
 * gRPC (h2c, node:http2's stream API): HTTP 200, one empty message, trailer grpc-status 0.
 * HTTP/1.1 (node:http), for Connect JSON and REST alike: 200 with the JSON body `{}`.
 *
 * With `--durable FILE` each call first appends a record to FILE and answers only once an
 * fdatasync that began after its append has ended, grouped as the server's own WAL flush
 * groups them (src/store/sqlite/wal-sync.ts): the floor of a durable answer on this disk, which
 * a lock's latency includes and the bare floor does not.
 */
import { createServer as createHttp2Server } from "node:http2";
import { createServer as createHttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { openSync, writeSync } from "node:fs";
import { WalSync, walFlusher } from "../src/store/sqlite/wal-sync.js";

/** One uncompressed gRPC message of zero bytes: flag 0, length 0. */
const EMPTY_MESSAGE = Buffer.alloc(5);

/** With --durable: resolves once a record of the call is on stable storage. */
const durable = process.argv.includes("--durable") ? durableAppender(process.argv[process.argv.indexOf("--durable") + 1]!) : undefined;

function durableAppender(file: string): () => Promise<void> {
  const fd = openSync(file, "a");
  const record = Buffer.alloc(200, "x");
  const sync = new WalSync(walFlusher(file).flush);
  return () => {
    writeSync(fd, record);
    return sync.durable();
  };
}

/** Runs `answer` once the call is recorded, if it must be. */
const afterRecord = (answer: () => void) => (durable ? void durable().then(answer) : answer());

const grpc = createHttp2Server();
grpc.on("stream", (stream) => {
  stream.on("error", () => undefined);
  stream.resume();
  stream.on("end", () =>
    afterRecord(() => {
      stream.respond({ ":status": 200, "content-type": "application/grpc" }, { waitForTrailers: true });
      stream.once("wantTrailers", () => stream.sendTrailers({ "grpc-status": "0" }));
      stream.end(EMPTY_MESSAGE);
    }),
  );
});

const http = createHttpServer((req, res) => {
  req.resume();
  req.on("end", () => afterRecord(() => res.writeHead(200, { "content-type": "application/json", "content-length": "2" }).end("{}")));
});

const listening = (server: { listen(port: number, host: string, done: () => void): unknown; address(): unknown }) =>
  new Promise<number>((done) => server.listen(0, "127.0.0.1", () => done((server.address() as AddressInfo).port)));

const ports = { grpc: await listening(grpc), http: await listening(http) };
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.on("SIGTERM", () => process.exit(0));

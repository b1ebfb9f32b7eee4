/**
 * How much of a call's garbage outlives a young-generation collection (`npm run bench:gc`).
 * V8 gives every newly created generator function a hidden class (map) of its own, in the old
 * generation, on its first call; a generator function created per call keeps what it reaches
 * alive across scavenges until the next full collection. Connect-ES builds its pipelines that
 * way (a `function*` per transform per call, under TypeScript's ES2017 async-generator helper).
 * This compares async generators defined once with the same ones created per call, Connect-ES's
 * `pipe`, and a gRPC, gRPC-Web and Connect Noop through Connect-ES's own handlers and through
 * ours (no HTTP). It also
 * shows that on Node 20 an AbortSignal made per call survives scavenges (its controller alone,
 * whose signal Node makes only when read, does not).
 * Each variant runs in a child `node --trace-gc-nvp`, which reports the bytes allocated and the
 * bytes that survived every scavenge; whatever survives is copied, and soon promoted.
 */
import { spawnSync } from "node:child_process";
import { createConnectRouter, type ConnectRouter } from "@connectrpc/connect";
import { pipe } from "@connectrpc/connect/protocol";
import { BenchService } from "../gen/zus/bench/v1/bench_pb.js";
import { createFastPath } from "../src/rpc/fast-path/fast-path.js";

const CALLS = 100_000;

async function* source<T>(value: T) {
  yield value;
}

async function* nativePipe<T>(iterable: AsyncIterable<T>) {
  for await (const value of iterable) yield value;
}

/** The same pass-through, its generator function created anew for every call. */
const nativePipePerCall = <T>(iterable: AsyncIterable<T>) =>
  (async function* () {
    for await (const value of iterable) yield value;
  })();

async function drain(iterable: AsyncIterable<unknown>) {
  for await (const _ of iterable);
}

const payload = () => ({ numbers: new Array(50).fill(1) });

const NEVER_ABORTED = new AbortController().signal;

/** A gRPC or gRPC-Web Noop through a router's handler: Connect-ES's own router, or ours (src/rpc/fast-path/fast-path.ts). */
function grpcNoop(router: ConnectRouter, contentType = "application/grpc") {
  router.service(BenchService, { noop: () => ({}) });
  const handler = router.handlers.find((h) => h.method.name === "Noop")!;
  const id = Buffer.from("123456789012345678");
  const body = Buffer.concat([Buffer.from([0, 0, 0, 0, 2 + id.length, 0x0a, id.length]), id]);
  return async () => {
    const res = await handler({
      httpVersion: "2.0",
      method: "POST",
      url: "http://localhost/zus.bench.v1.BenchService/Noop",
      header: new Headers({ "content-type": contentType, te: "trailers" }),
      body: source(new Uint8Array(body)),
      // The server makes a call's signal only when read (src/edge/universal-request.ts), and these handlers do not read it.
      signal: NEVER_ABORTED,
    });
    if (res.body) await drain(res.body as AsyncIterable<unknown>);
  };
}

/** A Connect JSON Noop through a router's handler. */
function connectNoop(router: ConnectRouter) {
  router.service(BenchService, { noop: () => ({}) });
  const handler = router.handlers.find((h) => h.method.name === "Noop")!;
  const body = Buffer.from('{"userId":"123456789012345678"}');
  return async () => {
    const res = await handler({
      httpVersion: "1.1",
      method: "POST",
      url: "http://localhost/zus.bench.v1.BenchService/Noop",
      header: new Headers({ "content-type": "application/json" }),
      body: source(new Uint8Array(body)),
      signal: NEVER_ABORTED,
    });
    if (res.body) await drain(res.body as AsyncIterable<unknown>);
  };
}

const VARIANTS: Record<string, () => () => Promise<void>> = {
  "an AbortController per call, its signal never read": () => async () => void new AbortController(),
  "an AbortController per call and its signal": () => async () => void new AbortController().signal,
  "native async generators, defined once": () => () => drain(nativePipe(source(payload()))),
  "native async generator created per call": () => () => drain(nativePipePerCall(source(payload()))),
  "Connect-ES pipe": () => () => drain(pipe(source(payload()), (values) => values)),
  "Connect-ES gRPC Noop handler": () => grpcNoop(createConnectRouter()),
  "our gRPC unary handler (src/rpc/fast-path/grpc-unary.ts), Noop": () => grpcNoop(createFastPath({}).router),
  "Connect-ES gRPC-Web Noop handler": () => grpcNoop(createConnectRouter(), "application/grpc-web+proto"),
  "our gRPC-Web unary handler, Noop": () => grpcNoop(createFastPath({}).router, "application/grpc-web+proto"),
  "Connect-ES Connect JSON Noop handler": () => connectNoop(createConnectRouter()),
  "our Connect unary handler (src/rpc/fast-path/connect-unary.ts), JSON Noop": () => connectNoop(createFastPath({}).router),
};

/** The fields of one scavenge in V8's --trace-gc-nvp line, in the order V8 prints them. */
const SCAVENGE_LINE = / pause=([\d.]+) .* allocated=(\d+) .* new_space_survived=(\d+) /;

const child = process.argv.indexOf("--child");
if (child > 0) {
  const once = VARIANTS[process.argv[child + 1]!]!();
  for (let i = 0; i < CALLS; i++) await once();
} else {
  console.log(`${CALLS} calls each, one at a time; node ${process.version}\n`);
  console.log("| variant | scavenges | allocated MiB | survived MiB | survived | mean scavenge pause |");
  console.log("|---|---|---|---|---|---|");
  for (const name of Object.keys(VARIANTS)) {
    const run = spawnSync(process.execPath, ["--trace-gc-nvp", "--import", "tsx", import.meta.filename, "--child", name], { encoding: "utf8", maxBuffer: 1 << 28 });
    if (run.status !== 0) throw new Error(`${name}: ${run.stderr}`);
    // The first few collections belong to start-up (module loading, compiling).
    // A line V8 wrote in pieces (now and then one is cut by another thread's output) is skipped.
    const scavenges = run.stdout
      .split("\n")
      .filter((line) => line.includes("gc=s "))
      .map((line) => SCAVENGE_LINE.exec(line))
      .filter((match) => match !== null)
      .slice(3)
      .map(([, pause, allocated, survived]) => ({ pause: Number(pause), allocated: Number(allocated), survived: Number(survived) }));
    const sum = (key: "pause" | "allocated" | "survived") => scavenges.reduce((total, s) => total + s[key], 0);
    const percent = ((100 * sum("survived")) / sum("allocated")).toFixed(1);
    console.log(`| ${name} | ${scavenges.length} | ${(sum("allocated") / 2 ** 20).toFixed(0)} | ${(sum("survived") / 2 ** 20).toFixed(1)} | ${percent}% | ${(sum("pause") / scavenges.length).toFixed(1)} ms |`);
  }
}

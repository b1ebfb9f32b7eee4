/**
 * Issue 7, part 2: random and mutated input on every protocol and path, against one real
 * server process. Targets come from the generated descriptors (every unary RPC, every
 * REST route). Every answer must arrive in time and be an error in its protocol's own
 * shape, never Internal or Unknown; only a request that is valid may succeed. After each
 * property the process is alive, normal calls work and its memory stayed bounded.
 *
 * Seeded: FUZZ_SEED replays a run (fast-check prints the seed and path of a failure);
 * FUZZ_RUNS_SCALE multiplies every property's number of runs for a longer local hunt.
 */
import fc from "fast-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { expectAcceptable, readRestAnswer, readRpcAnswer } from "./support/fuzz-answers.js";
import { payload, preview } from "./support/fuzz-bytes.js";
import { encodeText, frame, frameFault, keepsFrame, soleMessage, textFault } from "./support/fuzz-frames.js";
import { connectionGarbage, http1Status, sentGoaway } from "./support/fuzz-garbage.js";
import { headerLoad } from "./support/fuzz-headers.js";
import { serverWatch } from "./support/fuzz-health.js";
import { CLOSE_TIMEOUT_MS, exchange, exchangeTcp, isRefusal, type HttpAnswer, type Refusal } from "./support/fuzz-http.js";
import { jsonBody } from "./support/fuzz-json.js";
import { requestStrings } from "./support/fuzz-messages.js";
import { protoBody } from "./support/fuzz-proto.js";
import { hasRawBytes, restCall, restExpectation, restRequest, type RestCall } from "./support/fuzz-rest.js";
import { deepBodies, wideBodies } from "./support/fuzz-shapes.js";
import { methodAt, REST_ROUTES, RPC_PATHS } from "./support/fuzz-targets.js";
import { carry, CHANNELS, credentials, decodes, rpcRequest, type Channel, type Codec } from "./support/fuzz-wires.js";
import { addHuman } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

const SEED = Number(process.env.FUZZ_SEED || 20_261_123);
const RUNS_SCALE = Number(process.env.FUZZ_RUNS_SCALE || 1);
const PASSWORD = "Secr3t-Passw0rd!";
/** Generous: shrinking a failure sends many more requests than the runs themselves. */
const PROPERTY_TIMEOUT_MS = 180_000;

let server: TestServer;
let targetId: string;
/** Ids, names and the password of a real user, so generated calls reach past "not found". */
let known: string[];
let expectServerHealthy: () => Promise<void>;

beforeAll(async () => {
  server = await startServer();
  const client = userClient("connect-json", server.baseUrl, server.adminToken);
  targetId = await addHuman(client, { password: true });
  const { user } = await client.getUserByID({ userId: targetId });
  known = [targetId, user!.username, PASSWORD];
  expectServerHealthy = serverWatch(server);
});
afterAll(() => server?.stop());
afterEach(() => expectServerHealthy());

const check = <T>(property: fc.IAsyncProperty<[T]>, numRuns: number) =>
  fc.assert(property, { seed: SEED, numRuns: Math.max(1, Math.round(numRuns * RUNS_SCALE)) });

/** Results a check lets pass without reading them as an answer. */
type Tolerated = (result: HttpAnswer | Refusal) => boolean;
const NOTHING: Tolerated = () => false;
/**
 * Refused by Node's HTTP/1.1 layer (400 or 431 without a body: a request line with raw bytes,
 * headers past its size limit, or past its 1,000-header limit, which drops Host) or by nghttp2
 * (RST_STREAM, GOAWAY), before any handler of the server runs.
 */
const refusedBeforeHandler: Tolerated = (result) => isRefusal(result) || ([400, 431].includes(result.status) && result.headers["content-type"] === undefined);

/** Like Promise.all, but lets every request finish first, so none is left running after a failure. */
async function allOf(checks: Promise<void>[]): Promise<void> {
  const failed = (await Promise.allSettled(checks)).find((result): result is PromiseRejectedResult => result.status === "rejected");
  if (failed) throw failed.reason;
}

function expectAnswer(result: HttpAnswer | Refusal, describe: string): HttpAnswer {
  expect(isRefusal(result), `no answer, the connection was dropped (${JSON.stringify(result)}): ${describe}`).toBe(false);
  return result as HttpAnswer;
}

interface RpcSend {
  channel: Channel;
  codec: Codec;
  path: string;
  /** The HTTP body as sent, in the wire's framing. */
  body: Uint8Array;
  headers: Record<string, string | string[]>;
  mayHaveSucceeded: boolean;
}

async function expectRpcError(send: RpcSend, tolerated = NOTHING): Promise<void> {
  const { channel, codec, path, body } = send;
  const describe = `${channel.wire}+${codec} over HTTP/${channel.version} POST ${path} body ${preview(body)}`;
  const result = await exchange(server.port, rpcRequest(channel, codec, path, body, send.headers));
  if (tolerated(result)) return;
  const expected = { mayHaveSucceeded: send.mayHaveSucceeded, output: methodAt(path).output, describe };
  expectAcceptable(readRpcAnswer(channel.wire, codec, expectAnswer(result, describe), expected), expected);
}

async function expectRestError(call: RestCall, headers: Record<string, string | string[]>, tolerated = NOTHING): Promise<void> {
  const describe = `REST ${call.verb} ${preview(Buffer.from(call.path, "latin1"), 160)} over HTTP/${call.version} (${call.contentType ?? "no content-type"}) body ${preview(call.body.bytes)}`;
  const result = await exchange(server.port, restRequest(call, headers));
  if (tolerated(result) || (hasRawBytes(call) && refusedBeforeHandler(result))) return;
  const expected = { ...restExpectation(call), describe };
  expectAcceptable(readRestAnswer(expectAnswer(result, describe), expected), expected);
}

/** A REST call on a route with its path variables set to the fuzz target. */
function restCallOn(route: (typeof REST_ROUTES)[number], body: Uint8Array, version: "1.1" | "2" = "1.1"): RestCall {
  const path = `/${route.segments.map((part) => ("literal" in part ? part.literal : targetId)).join("/")}`;
  return { version, verb: route.verb, path, contentType: "application/json", body: payload(body) };
}

describe(`fuzz (seed ${SEED})`, () => {
  const BODIES = { json: jsonBody, proto: protoBody };

  it.each(["json", "proto"] as const)(
    "%s bodies on every RPC and every protocol: an error of the protocol, or success for a valid request",
    async (codec) => {
      const strings = requestStrings(known);
      const call = fc.constantFrom(...RPC_PATHS).chain((path) => fc.tuple(fc.constant(path), BODIES[codec](methodAt(path), strings).map(payload)));
      await check(
        fc.asyncProperty(fc.tuple(call, credentials(server.adminToken)), async ([[path, message], headers]) => {
          const mayHaveSucceeded = decodes(methodAt(path).input, codec, message.bytes);
          await allOf(
            CHANNELS[codec].map((channel) => expectRpcError({ channel, codec, path, body: carry(channel.wire, message.bytes), headers, mayHaveSucceeded })),
          );
        }),
        120,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    "gRPC and gRPC-Web frames with wrong lengths, flags, encodings, trailing garbage, and broken base64",
    async () => {
      const strings = requestStrings(known);
      const framing = fc.constantFrom(...RPC_PATHS).chain((path) =>
        fc.record({
          path: fc.constant(path),
          message: protoBody(methodAt(path), strings).map(payload),
          fault: frameFault,
          text: textFault,
          encoding: fc.constantFrom(undefined, "identity", "gzip", "zstd", ""),
        }),
      );
      const channels = CHANNELS.proto.filter((channel) => channel.wire !== "connect");
      await check(
        fc.asyncProperty(fc.tuple(framing, credentials(server.adminToken)), async ([{ path, message, fault, text, encoding }, auth]) => {
          const framed = frame(message.bytes, fault);
          const sole = soleMessage(framed);
          const wellFormed = sole !== undefined && decodes(methodAt(path).input, "proto", sole);
          const headers = encoding === undefined ? auth : { ...auth, "grpc-encoding": encoding };
          await allOf(
            channels.map((channel) => {
              const isText = channel.wire === "grpc-web-text";
              // Text whose base64 was damaged may still decode to something valid: its decoder is lenient by design.
              const mayHaveSucceeded = isText && !keepsFrame(text) ? true : wellFormed;
              const body = isText ? encodeText(framed, text) : framed;
              return expectRpcError({ channel, codec: "proto", path, body, headers, mayHaveSucceeded });
            }),
          );
        }),
        150,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  const SHAPES = { deep: deepBodies, wide: wideBodies };

  it.each([
    { kind: "deep", shape: "nested 1 to 20,000 levels along a cycle of the request type's own fields" },
    { kind: "wide", shape: "with one repeated field 500 to 40,000 elements long" },
  ] as const)(
    "$kind requests, $shape",
    async ({ kind }) => {
      const strings = requestStrings(known);
      const shaped = RPC_PATHS.flatMap((path) => {
        const body = SHAPES[kind](methodAt(path), strings);
        return body ? [body.map((shape) => ({ path, shape }))] : [];
      });
      expect(shaped.length, `the descriptors have ${kind === "deep" ? "recursive" : "repeated"} request fields`).toBeGreaterThan(0);
      await check(
        fc.asyncProperty(fc.oneof(...shaped), async ({ path, shape }) => {
          const method = methodAt(path);
          const auth = { authorization: `Bearer ${server.adminToken}` };
          const json = { channel: { wire: "connect", version: "1.1" }, codec: "json", body: shape.json, mayHaveSucceeded: decodes(method.input, "json", shape.json) } as const;
          const binary = { channel: { wire: "grpc", version: "2" }, codec: "proto", body: carry("grpc", shape.binary), mayHaveSucceeded: decodes(method.input, "proto", shape.binary) } as const;
          const route = REST_ROUTES.find((r) => r.method === method && r.body === "*");
          await allOf([
            expectRpcError({ ...json, path, headers: auth }),
            expectRpcError({ ...binary, path, headers: auth }),
            ...(route ? [expectRestError(restCallOn(route, shape.json), auth)] : []),
          ]);
        }),
        kind === "deep" ? 30 : 20,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    "REST routes with odd path encodings, query strings, verbs and bodies: grpc-gateway errors with matching statuses",
    async () => {
      await check(
        fc.asyncProperty(fc.tuple(restCall(requestStrings(known), known), credentials(server.adminToken)), ([call, headers]) => expectRestError(call, headers)),
        250,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    "huge and many headers: refused (431, reset, GOAWAY) when large, otherwise answered as usual",
    async () => {
      const rpc = fc.record({ path: fc.constantFrom(...RPC_PATHS), channel: fc.constantFrom(...CHANNELS.proto) });
      const rest = fc.nat(REST_ROUTES.length - 1).map((index) => ({ route: REST_ROUTES[index]! }));
      await check(
        fc.asyncProperty(fc.tuple(fc.oneof(rpc, rest), headerLoad, fc.constantFrom("1.1" as const, "2" as const)), async ([aim, load, version]) => {
          const headers = { authorization: `Bearer ${server.adminToken}`, ...load.headers };
          const tolerated = load.large ? refusedBeforeHandler : NOTHING;
          if ("route" in aim) return expectRestError(restCallOn(aim.route, new Uint8Array(), version), headers, tolerated);
          // gRPC needs HTTP/2; the other protocols take either version.
          const channel = aim.channel.wire === "grpc" ? aim.channel : { ...aim.channel, version };
          return expectRpcError({ channel, codec: "proto", path: aim.path, body: carry(channel.wire, new Uint8Array()), headers, mayHaveSucceeded: true }, tolerated);
        }),
        60,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );

  it(
    "raw connections that are barely HTTP: the server closes them (or sends GOAWAY) in time and never answers 500",
    async () => {
      const valid = Buffer.from(
        `POST /v2/users/${targetId}/unlock HTTP/1.1\r\nhost: fuzz\r\nauthorization: Bearer ${server.adminToken}\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}`,
      );
      await check(
        fc.asyncProperty(connectionGarbage(valid), async (garbage) => {
          const { received, closed } = await exchangeTcp(server.port, garbage.bytes, sentGoaway);
          const said = `answered ${preview(received)} to ${preview(garbage.bytes)}`;
          expect(closed || sentGoaway(received), `neither closed the connection nor sent GOAWAY in ${CLOSE_TIMEOUT_MS} ms: ${said}`).toBe(true);
          expect(http1Status(received), said).not.toBe(500);
        }),
        100,
      );
    },
    PROPERTY_TIMEOUT_MS,
  );
});

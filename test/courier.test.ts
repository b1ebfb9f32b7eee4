/**
 * The delivery process (app/courier-process.ts) as the server runs it: the bundle dist/courier.mjs
 * in a child process at the nice value given, signing SETs a receiver verifies, making requests
 * to a real receiver and timing them from their start, and failing what it had when it dies,
 * then starting again with the next request.
 */
import { readFileSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLocalJWKSet, jwtVerify } from "jose";
import { ProcessCourier } from "../src/app/courier-process.js";
import { loadConfig } from "../src/config.js";
import { newKeyPair, publicJwkOf, type SigningKey } from "../src/security/set-signing.js";
import { listenReceiver, type RunningReceiver } from "./support/http-receiver.js";
import { until } from "./support/wait.js";

const SCRIPT = new URL(`file://${resolve(import.meta.dirname, "../dist/courier.mjs")}`);
const NICE = 7;

let key: SigningKey;
let jwks: ReturnType<typeof createLocalJWKSet>;
let receiver: RunningReceiver;
const received: { body: string; headers: Record<string, unknown> }[] = [];
const errors: unknown[] = [];
const courier = new ProcessCourier(SCRIPT, NICE, (err) => errors.push(err));

beforeAll(async () => {
  const pair = await newKeyPair();
  key = { kid: pair.kid, privateKeyPem: pair.privateKeyPem };
  jwks = createLocalJWKSet({ keys: [publicJwkOf(pair.kid, pair.publicJwk)] });
  receiver = await listenReceiver("/hook", (req, body, res) => {
    if (req.headers["x-wait"]) return; // never answers
    received.push({ body, headers: req.headers });
    res.writeHead(202, { "content-type": "application/json" }).end('{"seen":true}');
  });
});

afterAll(async () => {
  courier.stop();
  await receiver.stop();
});

/** The pids of this process's children that run the courier bundle. */
function courierPids(): number[] {
  return readdirSync(`/proc/${process.pid}/task`)
    .flatMap((task) => readFileSync(`/proc/${process.pid}/task/${task}/children`, "utf8").split(" ").filter(Boolean).map(Number))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes("courier.mjs");
      } catch {
        return false; // exited meanwhile
      }
    });
}

/** Field 19 of /proc/PID/stat: the nice value. */
const niceOf = (pid: number) => Number(readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[16]);

const post = (headers: Record<string, string> = {}, timeoutMs = 5000) =>
  courier.post(new URL(receiver.url), "the body", { headers: { "content-type": "text/plain", ...headers }, timeoutMs, guarded: false });

describe("the delivery process", () => {
  it("signs SETs in order with the key it is sent once, each verifying against the key's JWKS", async () => {
    const claims = [1, 2, 3].map((n) => ({ iss: "https://idp.example.com", jti: `j${n}`, iat: 1, aud: "r", events: { e: { n } } }));
    const sets = [...(await courier.signSets(claims, key)), ...(await courier.signSets(claims.slice(0, 1), key))];
    expect(sets).toHaveLength(4);
    for (const [i, set] of sets.entries()) {
      const { payload, protectedHeader } = await jwtVerify(set, jwks, { typ: "secevent+jwt", algorithms: ["RS256"] });
      expect(protectedHeader.kid).toBe(key.kid);
      expect(payload.jti).toBe(`j${(i % 3) + 1}`);
    }
  });

  it("runs in a child process at the nice value it was given", async () => {
    await post();
    const pids = courierPids();
    expect(pids).toHaveLength(1);
    expect(niceOf(pids[0]!)).toBe(NICE);
  });

  it("posts to the receiver with the headers given and hands back its status and body", async () => {
    received.length = 0;
    const answer = await post({ authorization: "Bearer t" });
    expect(answer).toEqual({ status: 202, body: '{"seen":true}' });
    expect(received).toEqual([{ body: "the body", headers: expect.objectContaining({ authorization: "Bearer t", "content-type": "text/plain" }) }]);
  });

  it("fails a request that has no answer within its timeout, saying so", async () => {
    await expect(post({ "x-wait": "1" }, 300)).rejects.toThrow("no answer within 300 ms");
  });

  it("when it dies, what it had fails, the error is reported, and the next request starts another", async () => {
    const [pid] = courierPids();
    const hanging = post({ "x-wait": "1" }, 60_000);
    process.kill(pid!, "SIGKILL");
    await expect(hanging).rejects.toThrow("the delivery process exited");
    expect(String(errors.at(-1))).toContain("the delivery process exited (SIGKILL)");
    expect(await post()).toMatchObject({ status: 202 });
    const [next] = courierPids();
    expect(next).not.toBe(pid);
    // A new process is sent the key again.
    const [set] = await courier.signSets([{ jti: "again" }], key);
    expect((await jwtVerify(set!, jwks)).payload.jti).toBe("again");
  });

  it("ignores SIGTERM (the process group's), and exits when the server closes the channel", async () => {
    const [pid] = courierPids();
    process.kill(pid!, "SIGTERM");
    expect(await post()).toMatchObject({ status: 202 });
    courier.stop();
    await until(() => courierPids().length === 0, 5000);
  });
});

describe("DELIVERY_NICE", () => {
  it("defaults to 10, takes 0 to 19, and refuses anything else", () => {
    expect(loadConfig({}).delivery.nice).toBe(10);
    expect(loadConfig({ DELIVERY_NICE: "0" }).delivery.nice).toBe(0);
    expect(loadConfig({ DELIVERY_NICE: "19" }).delivery.nice).toBe(19);
    expect(() => loadConfig({ DELIVERY_NICE: "20" })).toThrow("DELIVERY_NICE must be 0 to 19, got 20");
    expect(() => loadConfig({ DELIVERY_NICE: "-1" })).toThrow("DELIVERY_NICE must be a non-negative integer");
  });
});

/**
 * The three receivers of the delivery scenario (bench/delivery.ts), run as their own process on
 * the load's core (`taskset -c 1 node --import tsx bench/delivery-receivers.ts`), so their CPU
 * is not counted as the server's: an SSF push receiver (RFC 8935, node:http, answers 202), an SSF
 * poll receiver (RFC 8936: one long poll after another over a keep-alive socket, acknowledging
 * what the last one took) and a ZITADEL Actions v2 target (node:http, answers 200). Each checks
 * what it gets as an application would: a SET's RS256 signature against the transmitter's JWKS,
 * its typed header and the SSF claims; an Actions body's `ZITADEL-Signature` HMAC.
 *
 * Every receipt is kept with its arrival time (ms since the epoch): a SET by its `jti`, an Actions
 * event as "<user id>:<sequence>". bench/delivery-match.ts sets them against the acknowledged calls.
 *
 * Talks to its parent by lines of JSON: prints `{"pushUrl", "actionsUrl"}` once listening, then
 * answers each command on stdin with one line:
 *   {"configure": {serverUrl, pollStreamId, pollToken, actionsKey, jwks}}  starts polling
 *   {"hold": true|false}      the Actions target keeps its answers back (and then gives them all)
 *   {"counts": true}          receipts so far, per receiver
 *   {"dump": FILE}            writes every receipt kept since the last reset to FILE and clears them
 */
import { createHmac, createPublicKey, verify, type KeyObject } from "node:crypto";
import { writeFileSync } from "node:fs";
import { Agent, createServer, request, type IncomingMessage, type ServerResponse } from "node:http";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { createInterface } from "node:readline";
import { KINDS, type Kind } from "./delivery-kinds.js";
import { cpuCores } from "./open-loop.js";


interface Configuration {
  serverUrl: string;
  pollStreamId: string;
  pollToken: string;
  actionsKey: string;
  jwks: { keys: Record<string, unknown>[] };
}

/** A long poll asks for this many SETs at most (the server gives no more). */
const MAX_EVENTS = 100;

const now = () => performance.timeOrigin + performance.now();
const cpuAtStart = process.cpuUsage();
const started = performance.now();
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();

/** Receipts since the last dump, per receiver: keys and arrival times side by side. */
const receipts = Object.fromEntries(KINDS.map((k) => [k, { keys: [] as string[], at: [] as number[] }])) as Record<Kind, { keys: string[]; at: number[] }>;
const totals: Record<Kind, number> = { push: 0, poll: 0, actions: 0 };
/** Receipts that failed a check, with the first reason. */
let rejected = 0;
let firstRejection: string | undefined;
let config: Configuration | undefined;
let keys = new Map<string, KeyObject>();

function keep(kind: Kind, key: string, at: number) {
  receipts[kind].keys.push(key);
  receipts[kind].at.push(at);
  totals[kind]++;
}

function reject(why: string) {
  rejected++;
  firstRejection ??= why;
}

/** A SET checked as a receiver checks it; its jti, or undefined (counted as rejected). */
function checkedSet(set: string): string | undefined {
  const [h, p, s] = set.split(".");
  if (!h || !p || !s) return void reject("not a compact JWS");
  const header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as Record<string, unknown>;
  const claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as Record<string, unknown>;
  const key = keys.get(String(header.kid));
  if (header.typ !== "secevent+jwt" || header.alg !== "RS256" || !key) return void reject(`header ${JSON.stringify(header)}`);
  if (!verify("sha256", Buffer.from(`${h}.${p}`), key, Buffer.from(s, "base64url"))) return void reject("bad signature");
  const events = claims.events as Record<string, unknown> | undefined;
  const missing = ["iss", "aud", "iat", "jti", "txn", "sub_id"].filter((c) => claims[c] === undefined);
  if (missing.length || "sub" in claims || "exp" in claims || !events || Object.keys(events).length !== 1) return void reject(`claims ${JSON.stringify(claims)}`);
  return String(claims.jti);
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

const push = createServer(async (req, res) => {
  const set = await body(req);
  const at = now();
  const jti = checkedSet(set);
  if (jti) keep("push", jti, at);
  res.writeHead(202).end();
});

/** Answers the Actions target holds back while `holding`. */
let holding = false;
const held: ServerResponse[] = [];
const actions = createServer(async (req, res) => {
  const raw = await body(req);
  const at = now();
  const [t, v1] = String(req.headers["zitadel-signature"]).split(",").map((part) => part.split("=")[1]);
  if (v1 !== createHmac("sha256", config?.actionsKey ?? "").update(`${t}.${raw}`).digest("hex")) {
    reject("bad ZITADEL-Signature");
    return void res.writeHead(400).end();
  }
  const event = JSON.parse(raw) as { aggregateID: string; sequence: number };
  const key = `${event.aggregateID}:${event.sequence}`;
  // Taken when it is answered: a held request is not received yet.
  if (holding) return void held.push(Object.assign(res, { bench: key }));
  keep("actions", key, at);
  res.writeHead(200).end();
});

function release() {
  holding = false;
  const at = now();
  for (const res of held.splice(0)) {
    keep("actions", (res as ServerResponse & { bench: string }).bench, at);
    res.writeHead(200).end();
  }
}

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

/** One poll: acknowledges `ack`, waits for SETs; the SETs as jti → SET. */
function poll(c: Configuration, ack: string[]): Promise<Record<string, string>> {
  const payload = JSON.stringify({ ack, maxEvents: MAX_EVENTS, returnImmediately: false });
  const headers = { "content-type": "application/json", authorization: `Bearer ${c.pollToken}` };
  return new Promise((resolve, fail) => {
    const req = request(new URL(`/ssf/poll/${c.pollStreamId}`, c.serverUrl), { method: "POST", headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (text += d));
      res.on("end", () => (res.statusCode === 200 ? resolve((JSON.parse(text) as { sets: Record<string, string> }).sets) : fail(new Error(`poll answered ${res.statusCode}: ${text}`))));
    });
    req.on("error", fail);
    req.end(payload);
  });
}

/** Polls for as long as the process lives; a failed poll is reported and tried again after a pause. */
async function polling(c: Configuration) {
  let ack: string[] = [];
  for (;;) {
    try {
      const sets = await poll(c, ack);
      const at = now();
      ack = [];
      for (const [jti, set] of Object.entries(sets)) {
        ack.push(jti);
        if (checkedSet(set) === jti) keep("poll", jti, at);
      }
    } catch (err) {
      reject(`poll: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

function dump(file: string) {
  const lines: string[] = [];
  for (const kind of KINDS) {
    const { keys: k, at } = receipts[kind];
    for (let i = 0; i < k.length; i++) lines.push(`${kind} ${k[i]} ${at[i]}`);
    receipts[kind] = { keys: [], at: [] };
  }
  writeFileSync(file, lines.length ? `${lines.join("\n")}\n` : "");
  return lines.length;
}

function status() {
  return {
    totals,
    rejected,
    firstRejection,
    cpuCores: cpuCores(cpuAtStart, (performance.now() - started) / 1000),
    loopDelayP99Ms: loopDelay.percentile(99) / 1e6 - 1,
  };
}

const listen = (server: ReturnType<typeof createServer>) =>
  new Promise<number>((resolve) => server.listen(0, "127.0.0.1", () => resolve((server.address() as { port: number }).port)));
const [pushPort, actionsPort] = await Promise.all([listen(push), listen(actions)]);
const say = (line: object) => process.stdout.write(`${JSON.stringify(line)}\n`);
say({ pushUrl: `http://127.0.0.1:${pushPort}/events`, actionsUrl: `http://127.0.0.1:${actionsPort}/hook` });

for await (const line of createInterface({ input: process.stdin })) {
  const command = JSON.parse(line) as { configure?: Configuration; hold?: boolean; counts?: true; dump?: string };
  if (command.configure) {
    config = command.configure;
    keys = new Map(config.jwks.keys.map((jwk) => [String(jwk.kid), createPublicKey({ key: jwk as never, format: "jwk" })]));
    void polling(config);
    say({ configured: true });
  } else if (command.hold !== undefined) {
    if (command.hold) holding = true;
    else release();
    say({ holding, held: held.length });
  } else if (command.counts) say(status());
  else if (command.dump) say({ dumped: dump(command.dump), ...status() });
}
process.exit(0);

/**
 * The workers scenario's reference (bench/workers.ts): what a second process gains on this
 * machine for a server that shares nothing. A bare Node HTTP/1.1 server, as one process or as a
 * node:cluster of N workers on one port (round-robin, as src/primary.ts), whose every call does
 * a fixed amount of work on the main thread before it answers: UNITS rounds of stringifying and
 * parsing a user-shaped object (allocation and collection included, as in a real call). It
 * echoes `x-request-id` and answers 200 `{}`, which is all bench/wrk-users.lua needs.
 *
 *   node --import tsx bench/bare-cluster.ts WORKERS UNITS   (prints {"http":PORT} once listening)
 *
 * With WORKERS ≥ the cores the workers get `--single-threaded-gc`, as the server's do.
 */
import cluster from "node:cluster";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { availableParallelism } from "node:os";

const [workers, units] = process.argv.slice(2).map(Number) as [number, number];

/** n JSON round trips of a user as a REST answer carries one; its fields change with i and the result is returned, so V8 can skip none. */
function work(n: number): number {
  let length = 0;
  for (let i = 0; i < n; i++) {
    const user = { userId: String(i), details: { sequence: String(i * 7), changeDate: new Date(i).toISOString(), resourceOwner: "org-1" }, state: "USER_STATE_ACTIVE", username: `user-${i}@example.com`, human: { profile: { givenName: "Given", familyName: "Family" }, email: { email: `user-${i}@example.com`, isVerified: true } } };
    length += (JSON.parse(JSON.stringify(user)) as { username: string }).username.length;
  }
  return length;
}

function serve(): Promise<number> {
  const server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      work(units);
      const id = req.headers["x-request-id"];
      res.writeHead(200, { "content-type": "application/json", "content-length": "2", ...(id ? { "x-request-id": id } : {}) }).end("{}");
    });
  });
  return new Promise((done) => server.listen(0, "127.0.0.1", () => done((server.address() as AddressInfo).port)));
}

const printPort = (port: number) => process.stdout.write(`${JSON.stringify({ http: port })}\n`);

if (workers <= 1) printPort(await serve());
else if (cluster.isPrimary) {
  cluster.schedulingPolicy = cluster.SCHED_RR;
  if (workers >= availableParallelism()) cluster.setupPrimary({ execArgv: [...process.execArgv, "--single-threaded-gc"] });
  const ports: number[] = [];
  for (let i = 0; i < workers; i++)
    cluster.fork().once("message", (port: number) => {
      // Workers that listen on port 0 share one port: print it once every worker listens.
      if (ports.push(port) === workers) printPort(port);
    });
} else process.send!(await serve());
process.on("SIGTERM", () => {
  for (const worker of Object.values(cluster.workers ?? {})) worker?.process.kill("SIGTERM");
  process.exit(0);
});

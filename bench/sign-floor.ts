/**
 * The floor under every SET the delivery scenario sends: the CPU one RS256 signature with a
 * 2048-bit key takes here, through the server's own signing (src/security/set-signing.ts, jose).
 * Run on the load's core while nothing else runs (`taskset -c 1 node --import tsx
 * bench/sign-floor.ts '{"count":N}'`), `inFlight` signatures at a time as the delivery process
 * signs them; prints `{"signatures":N,"cpuUsPerSignature":U,"wallUsPerSignature":W}`.
 *
 * jose signs through WebCrypto, whose RSA work runs on libuv's thread pool: process.cpuUsage()
 * counts those threads too.
 */
import { importSigningKey, newKeyPair, signSet } from "../src/security/set-signing.js";
import { round } from "./report.js";

const { count = 2000, inFlight = 32 } = JSON.parse(process.argv[2] ?? "{}") as { count?: number; inFlight?: number };
const { kid, privateKeyPem } = await newKeyPair();
const key = await importSigningKey(privateKeyPem);
const claims = (i: number) => ({
  iss: "https://issuer.example",
  jti: `jti-${i}`,
  iat: Math.floor(Date.now() / 1000),
  aud: "https://receiver.example",
  txn: `txn-${i}`,
  sub_id: { format: "iss_sub", iss: "https://issuer.example", sub: "291849273987654321" },
  events: { "https://schemas.openid.net/secevent/risc/event-type/account-disabled": { reason: "hijacking", initiating_entity: "admin" } },
});

const run = async (n: number) => {
  let next = 0;
  const worker = async () => {
    while (next < n) await signSet(claims(next++), kid, key);
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
};

await run(Math.min(200, count)); // warm-up: JIT and the thread pool
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
await run(count);
const wallUs = (performance.now() - wall0) * 1000;
const cpu = process.cpuUsage(cpu0);
console.log(JSON.stringify({ signatures: count, cpuUsPerSignature: round((cpu.user + cpu.system) / count), wallUsPerSignature: round(wallUs / count) }));

/**
 * Checks between fuzz properties that the server came through: the process is alive,
 * normal authenticated calls succeed on every protocol, it logged no crash or internal
 * error since the last check, and its memory stayed bounded.
 */
import { readFileSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "vitest";
import { PROTOCOLS, userClient } from "./clients.js";
import type { TestServer } from "./server.js";

const MiB = 1024 * 1024;

/**
 * Resident memory once the fuzz input is garbage: the server starts at ~90 MiB and holds a
 * handful of users (a million stay under 256 MiB, bench/README.md); nothing of the input may
 * stay, so more than 300 MiB means input is being retained.
 */
const SETTLED_RSS_LIMIT_BYTES = 300 * MiB;

/**
 * The peak (VmHWM), spikes between checks included. Decoding and querying a 1 MiB body
 * holds ~60 MiB of objects until the next garbage collection, and a property has at most
 * five requests in flight; past 768 MiB something allocates by what a client declares
 * (a 4 GiB frame length) or keeps everything it is sent.
 */
const PEAK_RSS_LIMIT_BYTES = 768 * MiB;

function statusBytes(pid: number, field: "VmRSS" | "VmHWM"): number {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(match![1]) * 1024;
}

const CRASH_OR_FAULT = /uncaught|unhandled|"level":"(error|fatal)"/i;

export function serverWatch(server: TestServer) {
  let seen = 0;
  const normalCalls = () =>
    Promise.all(PROTOCOLS.map((protocol) => userClient(protocol, server.baseUrl, server.adminToken).listUsers({ query: { limit: 1 } })));

  /** Garbage is collected on V8's schedule: give it a few seconds of ordinary calls. */
  async function settledRss(): Promise<number> {
    for (let attempt = 0; attempt < 20 && statusBytes(server.pid(), "VmRSS") >= SETTLED_RSS_LIMIT_BYTES; attempt++) {
      await normalCalls();
      await sleep(250);
    }
    return statusBytes(server.pid(), "VmRSS");
  }

  return async function expectServerHealthy(): Promise<void> {
    expect(() => process.kill(server.pid(), 0), "the server process is gone").not.toThrow();
    for (const listed of await normalCalls()) expect.soft(listed.result.length, "a normal ListUsers answers").toBe(1);
    const output = server.output();
    const faults = output.slice(seen).split("\n").filter((line) => CRASH_OR_FAULT.test(line));
    seen = output.length;
    expect.soft(faults.length, `the server logged a crash or an internal error, e.g. ${faults.slice(0, 3).join("\n")}`).toBe(0);
    expect.soft(statusBytes(server.pid(), "VmHWM"), "peak resident memory").toBeLessThan(PEAK_RSS_LIMIT_BYTES);
    expect.soft(await settledRss(), "resident memory once the input is garbage").toBeLessThan(SETTLED_RSS_LIMIT_BYTES);
  };
}

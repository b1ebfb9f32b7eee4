/**
 * The delivery drill's receivers, as applications run them, in the drill's own process on
 * 127.0.0.1: the SSF push receiver and the Actions v2 receiver are the tests' own
 * (test/support/set-receiver.ts, test/support/actions-receiver.ts); here is what the drill reads
 * of the pushes, and the SSF poll receiver (RFC 8936): a loop that polls and acknowledges over
 * HTTP and carries on through server restarts. Each keeps what it took and when; the checks after
 * the run (delivery-check.ts) read that.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { PushedSet } from "../test/support/set-receiver.js";

/** One request (or one polled SET) the receiver took, with the drill's clock at that moment. */
export interface Taken {
  at: number;
  body: string;
}

/** The pushes an SSF push receiver (test/support/set-receiver.ts) took, and what was wrong with their headers. */
export function pushedSets(received: readonly PushedSet[], authorization: string): { taken: Taken[]; faults: string[] } {
  const faults: string[] = [];
  for (const { headers } of received) {
    if (headers.authorization !== authorization) faults.push(`a push with authorization ${headers.authorization}`);
    if (headers["content-type"] !== "application/secevent+jwt") faults.push(`a push with content-type ${headers["content-type"]}`);
  }
  return { taken: received.map(({ at, set }) => ({ at, body: set })), faults };
}

/**
 * The poll receiver's loop: polls the instances in turn (a long poll with the jtis taken last time
 * acknowledged), moving on when one does not answer, until stopped. Acknowledgements that did not
 * get through go with the next request: a SET is acknowledged after it was taken, never before.
 */
export class PollReceiver {
  readonly taken: (Taken & { jti: string })[] = [];
  readonly faults: string[] = [];
  /** Requests that failed (the instance was killed or restarting). */
  failed = 0;
  private stopped = false;
  private loop?: Promise<void>;

  constructor(
    private readonly baseUrls: () => string[],
    private readonly streamId: string,
    private readonly token: string,
    private readonly longPollMs: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async run(): Promise<void> {
    let ack: string[] = [];
    for (let turn = 0; !this.stopped; turn++) {
      const urls = this.baseUrls();
      const url = `${urls[turn % urls.length]}/ssf/poll/${this.streamId}`;
      try {
        const res = await fetch(url, {
          method: "POST",
          headers: { authorization: `Bearer ${this.token}`, "content-type": "application/json" },
          body: JSON.stringify({ ack, maxEvents: 100, returnImmediately: false }),
          signal: AbortSignal.timeout(this.longPollMs + 10_000),
        });
        const text = await res.text();
        if (res.status !== 200) {
          this.faults.push(`a poll answered ${res.status}: ${text}`);
          await sleep(100);
          continue;
        }
        const at = Date.now();
        const sets = (JSON.parse(text) as { sets: Record<string, string> }).sets;
        for (const [jti, body] of Object.entries(sets)) this.taken.push({ at, jti, body });
        ack = Object.keys(sets);
      } catch {
        this.failed++;
        await sleep(50);
      }
    }
  }
}

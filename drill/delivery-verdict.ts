/**
 * The delivery drill's verdict on its three receivers: what each took, read as a receiver reads
 * it (delivery-arrivals.ts), checked against the event log and the kills (delivery-check.ts),
 * with the window in which a kill explains a repeat for each way of delivery.
 */
import type { JSONWebKeySet } from "jose";
import { LEASE_MS } from "../src/app/dispatcher.js";
import type { ActionsCall } from "../test/support/actions-receiver.js";
import { actionArrivals, setArrivals } from "./delivery-arrivals.js";
import { checkReceiver, type Kill, type LoggedEvent, type ReceiverFigures } from "./delivery-check.js";
import type { Taken } from "./delivery-receivers.js";
import { SETS_OF, type AttachedStreams } from "./delivery-setup.js";

/**
 * How long a copy that reached its receiver may stay unmarked in the outbox before the kill that
 * explains its repeat: the sender's lease. One left longer (a sender stalled past its lease) was
 * sent again with no kill to blame.
 */
const BEFORE_KILL_MS = LEASE_MS;
/** Slack for what happens around a kill: a request in flight as it happened, a slow restart, a busy dispatcher. */
const SLACK_MS = 5_000;

export interface Sent {
  push: { taken: Taken[]; faults: string[] };
  poll: { taken: Taken[]; faults: string[] };
  actions: readonly ActionsCall[];
}

export async function judgeReceivers(
  sent: Sent,
  transmitter: { jwks: JSONWebKeySet; issuer: string; streams: AttachedStreams },
  events: readonly LoggedEvent[],
  kills: readonly Kill[],
  /** The longest restart, and the lease a killed instance leaves behind (0 with one instance, whose restart drops it). */
  afterKill: { restartMs: number; leaseMs: number },
  violations: string[],
): Promise<{ push: ReceiverFigures; poll: ReceiverFigures; actions: ReceiverFigures }> {
  const { jwks, issuer, streams } = transmitter;
  const setsOf = (type: string) => SETS_OF[type] ?? [];
  // A pushed copy arrives during the request that sends it: before the kill, or in flight as it happened.
  const inRequest = { beforeKillMs: BEFORE_KILL_MS, afterKillMs: SLACK_MS };
  // A polled SET queued before the kill may be taken until its delivery is sent again: after the restart, or once the killed instance's lease ran out.
  const polled = { beforeKillMs: BEFORE_KILL_MS, afterKillMs: afterKill.restartMs + afterKill.leaseMs + SLACK_MS };
  for (const [name, faults] of [["push", sent.push.faults], ["poll", sent.poll.faults]] as const) {
    for (const fault of faults) violations.push(`${name}: ${fault}`);
  }
  const pushArrivals = await setArrivals(sent.push.taken, jwks, { issuer, audience: streams.push.audience }, violations);
  const pollArrivals = await setArrivals(sent.poll.taken, jwks, { issuer, audience: streams.poll.audience }, violations);
  return {
    push: checkReceiver({ name: "push", arrivals: pushArrivals, signalsOf: setsOf, window: inRequest }, events, kills, violations),
    poll: checkReceiver({ name: "poll", arrivals: pollArrivals, signalsOf: setsOf, window: polled }, events, kills, violations),
    actions: checkReceiver(
      { name: "actions", arrivals: actionArrivals(sent.actions, violations), signalsOf: (type) => [type], window: inRequest },
      events,
      kills,
      violations,
    ),
  };
}

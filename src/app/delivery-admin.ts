/**
 * The outbox for an administrator (EXTENSIONS.md §2: parked deliveries are visible and can be
 * retried): what waits for each destination and what that destination is, the parked
 * deliveries, and retrying them. A poll stream's SETs leave the outbox for its poll queue, where
 * they wait for the receiver: the queue's depth is part of the stream's state. The outbox is the
 * instance's, so are the permissions: delivery.read and delivery.retry, held by IAM_OWNER.
 */
import { destinationName, parseDestination, type DestinationKind } from "../domain/destinations.js";
import type { Principal } from "../domain/permissions.js";
import { byDestination, type DestinationState, type OutboxStore, type ParkedDelivery, type ParkedFilter } from "../store/outbox.js";
import type { SsfStore } from "../store/ssf-store.js";
import type { ActionStore } from "../store/store.js";
import { mustHold } from "./actions.js";

/** What a destination is, while it exists. */
export type Receiver =
  | { kind: "target"; id: string; name: string }
  | { kind: "stream"; id: string; receiverId: string; deliveryMethod: string; queued: number; refused: number };

export interface DestinationView extends DestinationState {
  /** Undefined for a destination that is gone, or of a kind this server does not send to. */
  receiver?: Receiver;
}

/** Parked deliveries to make due again: these, or every one of a destination. */
export type RetrySelection = { ids: number[] } | { destination: string };

export class DeliveryAdmin {
  constructor(
    private readonly outbox: OutboxStore,
    private readonly actions: Pick<ActionStore, "listTargets">,
    private readonly ssf: Pick<SsfStore, "listStreams" | "queueDepths">,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async destinations(caller: Principal): Promise<DestinationView[]> {
    mustHold(caller, "delivery.read");
    const [inOutbox, depths] = await Promise.all([this.outbox.destinationStates(), this.ssf.queueDepths()]);
    // A poll stream with SETs in its queue and none in the outbox is listed too.
    const listed = new Set(inOutbox.map((state) => state.destination));
    const queuedOnly = [...depths.keys()].map((id) => destinationName("stream", id)).filter((destination) => !listed.has(destination));
    const states = [...inOutbox, ...queuedOnly.map((destination) => ({ destination, waiting: 0, parked: 0 }))].sort(byDestination);
    const receivers = await this.receivers(states.map((state) => parseDestination(state.destination)), depths);
    return states.map((state) => {
      const receiver = receivers.get(state.destination);
      return receiver ? { ...state, receiver } : state;
    });
  }

  async parked(caller: Principal, limit: number, filter: ParkedFilter): Promise<ParkedDelivery[]> {
    mustHold(caller, "delivery.read");
    return this.outbox.parkedDeliveries(limit, filter);
  }

  /** How many parked deliveries are due now; ids of none (or of one not parked) are not counted. */
  async retry(caller: Principal, selection: RetrySelection): Promise<number> {
    mustHold(caller, "delivery.retry");
    const now = this.now();
    return "ids" in selection ? this.outbox.retryParked(selection.ids, now) : this.outbox.retryParkedOf(selection.destination, now);
  }

  /** The targets and streams among these destinations, by destination name; two reads at most, whatever their number. */
  private async receivers(
    named: ({ kind: DestinationKind; id: string } | undefined)[],
    depths: Map<string, { queued: number; refused: number }>,
  ): Promise<Map<string, Receiver>> {
    const targetIds = named.flatMap((name) => (name?.kind === "target" ? [name.id] : []));
    const [{ targets }, streams] = await Promise.all([
      targetIds.length === 0
        ? { targets: [] }
        : this.actions.listTargets({ filters: [{ kind: "ids", ids: targetIds }], sort: "id", asc: true, offset: 0, limit: targetIds.length }),
      named.some((name) => name?.kind === "stream") ? this.ssf.listStreams() : [],
    ]);
    const receivers: Receiver[] = [
      ...targets.map((target) => ({ kind: "target" as const, id: target.id, name: target.name })),
      ...streams.map((stream) => ({
        kind: "stream" as const,
        id: stream.id,
        receiverId: stream.receiverId,
        deliveryMethod: stream.delivery.method,
        ...(depths.get(stream.id) ?? { queued: 0, refused: 0 }),
      })),
    ];
    return new Map(receivers.map((receiver) => [destinationName(receiver.kind, receiver.id), receiver]));
  }
}

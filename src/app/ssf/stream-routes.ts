/**
 * Which SSF streams a committed event goes to (EXTENSIONS.md §4), kept in memory so that a commit
 * decides its deliveries without a read: every stream not disabled that delivers any signal the
 * event's type may cause (user-signals.ts, SIGNAL_TYPES). Whether the stream still wants it (its
 * status, its subjects, the event's own signals) is judged when it is sent (stream-sender.ts).
 * Read again every refresh (main.ts) and at once after a change made on this instance, so that a
 * stream created here gets the next commit.
 */
import { destinationName } from "../../domain/destinations.js";
import { USER_EVENT_TYPES } from "../../domain/events.js";
import type { SsfStream } from "../../domain/ssf/stream.js";
import { SIGNAL_TYPES } from "../../domain/ssf/user-signals.js";
import type { SsfStore } from "../../store/ssf-store.js";
import type { DeliveryRoutes } from "../user-events.js";

const streamDestination = (streamId: string) => destinationName("stream", streamId);

export class StreamRoutes implements DeliveryRoutes {
  private streams = new Map<string, SsfStream>();
  private routes = new Map<string, string[]>();
  private paused: string[] = [];

  constructor(private readonly store: Pick<SsfStore, "listStreams">) {}

  destinationsFor(eventType: string): readonly string[] {
    return this.routes.get(eventType) ?? [];
  }

  /** The destinations of paused streams: their deliveries wait in the outbox, in order, until they are enabled. */
  held(): readonly string[] {
    return this.paused;
  }

  /** The stream as last read; undefined once deleted. */
  stream(id: string): SsfStream | undefined {
    return this.streams.get(id);
  }

  async refresh(): Promise<void> {
    const streams = await this.store.listStreams();
    const live = streams.filter((stream) => stream.status !== "disabled");
    this.routes = new Map(
      USER_EVENT_TYPES.map((type) => [
        type,
        live.filter((stream) => SIGNAL_TYPES[type].some((signal) => stream.eventsDelivered.includes(signal))).map((stream) => streamDestination(stream.id)),
      ]),
    );
    this.paused = streams.filter((stream) => stream.status === "paused").map((stream) => streamDestination(stream.id));
    this.streams = new Map(streams.map((stream) => [stream.id, stream]));
  }
}

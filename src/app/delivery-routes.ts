/**
 * Where events go (EXTENSIONS.md §2–§3): the Actions v2 targets whose executions match each
 * event type, kept in memory so that a commit decides its deliveries without a read, and read
 * again every `refreshMs` (an execution set on another instance takes effect here within that);
 * and the sender for each destination, looked up when a delivery is sent, so that a target's
 * new endpoint or key applies to what is still waiting, and a deleted one's deliveries are dropped.
 */
import { USER_EVENT_TYPES } from "../domain/events.js";
import type { OutboundPolicy } from "../security/outbound-urls.js";
import type { ActionStore } from "../store/store.js";
import type { ActionsApp } from "./actions.js";
import { actionsSender } from "./actions-sender.js";
import type { Sender } from "./dispatcher.js";
import type { DeliveryRoutes } from "./user-events.js";

const TARGET = "target:";

export class ActionRoutes implements DeliveryRoutes {
  private routes = new Map<string, string[]>();

  constructor(private readonly actions: Pick<ActionsApp, "targetsForEvents">) {}

  destinationsFor(eventType: string): readonly string[] {
    return this.routes.get(eventType) ?? [];
  }

  async refresh(): Promise<void> {
    const targets = await this.actions.targetsForEvents(USER_EVENT_TYPES);
    this.routes = new Map([...targets].map(([type, found]) => [type, found.map((target) => TARGET + target.id)]));
  }
}

/** The sender for a destination, or undefined when it is gone. */
export function senderLookup(
  store: Pick<ActionStore, "getTarget">,
  options: { instanceId: string; outbound: OutboundPolicy },
): (destination: string) => Promise<Sender | undefined> {
  return async (destination) => {
    if (!destination.startsWith(TARGET)) return undefined;
    const target = await store.getTarget(destination.slice(TARGET.length));
    return target && actionsSender({ endpoint: target.endpoint, signingKey: target.signingKey.reveal(), timeoutMs: target.timeoutMs }, options);
  };
}

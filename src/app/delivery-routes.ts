/**
 * Where events go to Actions v2 targets (EXTENSIONS.md §3): the targets whose executions match
 * each event type, kept in memory so that a commit decides its deliveries without a read, and
 * read again on each refresh (delivery.ts: an execution set on another instance takes effect
 * here within that); and a target's sender, looked up when a delivery is sent, so that a target's
 * new endpoint or key applies to what is still waiting, and a deleted one's deliveries are dropped.
 */
import { destinationName } from "../domain/destinations.js";
import { USER_EVENT_TYPES } from "../domain/events.js";
import type { ActionStore } from "../store/store.js";
import type { ActionsApp } from "./actions.js";
import { actionsSender, type ActionsSenderOptions } from "./actions-sender.js";
import type { Sender } from "./dispatcher.js";
import type { DeliveryRoutes } from "./user-events.js";

export class ActionRoutes implements DeliveryRoutes {
  private routes = new Map<string, string[]>();

  constructor(private readonly actions: Pick<ActionsApp, "targetsForEvents">) {}

  destinationsFor(eventType: string): readonly string[] {
    return this.routes.get(eventType) ?? [];
  }

  async refresh(): Promise<void> {
    const targets = await this.actions.targetsForEvents(USER_EVENT_TYPES);
    this.routes = new Map([...targets].map(([type, found]) => [type, found.map((target) => destinationName("target", target.id))]));
  }
}

/** One target's sender, or undefined when the target is gone. */
export async function targetSender(
  store: Pick<ActionStore, "getTarget">,
  targetId: string,
  options: ActionsSenderOptions,
): Promise<Sender | undefined> {
  const target = await store.getTarget(targetId);
  return target && actionsSender({ endpoint: target.endpoint, signingKey: target.signingKey.reveal(), timeoutMs: target.timeoutMs }, options);
}

/** Routes of several kinds of destination: each event goes to the destinations of every one. */
export function joinRoutes(...all: DeliveryRoutes[]): DeliveryRoutes {
  return { destinationsFor: (eventType) => all.flatMap((routes) => routes.destinationsFor(eventType)) };
}

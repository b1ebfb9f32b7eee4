/**
 * Where events go and what of them is left (EXTENSIONS.md §2–§4): the Actions v2 targets, the
 * executions that send events to them, and the Shared Signals streams, each with its delivery
 * state (waiting, parked, the oldest waiting one's age, the last error); destinations that are
 * gone but still have deliveries; and the parked deliveries. A destination's parked deliveries
 * are retried from its row, one delivery from its own. Read when shown and on Refresh.
 */
import type { Execution } from "../../../gen/zitadel/action/v2/execution_pb.js";
import type { Target } from "../../../gen/zitadel/action/v2/target_pb.js";
import type { Destination, ParkedDelivery } from "../../../gen/zus/delivery/v1/delivery_service_pb.js";
import type { Clients } from "../api.js";
import { countDeliveries, STATE_COLUMNS, stateCells } from "../delivery-state.js";
import { h } from "../dom.js";
import { ParkedPanel } from "../parked-deliveries.js";
import { ErrorBox } from "../server-error.js";
import type { StreamSummary } from "../ssf-streams.js";
import type { Navigator, View } from "./view.js";

/** ListTargets' and ListExecutions' largest page: more than an instance has in practice. */
const LIST_LIMIT = 1000;
const PUSH = "urn:ietf:rfc:8935";
const METHODS: Record<string, string> = { [PUSH]: "Push", "urn:ietf:rfc:8936": "Poll" };

/** A table with a caption-like heading, its body filled on each load. */
function section(title: string, id: string, columns: string[]) {
  const heading = h("h2", { id }, title);
  const body = h("tbody");
  const table = h("table", { className: "deliveries" }, h("thead", {}, h("tr", {}, ...columns.map((c) => h("th", { scope: "col" }, c)))), body);
  table.setAttribute("aria-labelledby", id);
  const element = h("section", {}, heading, h("div", { className: "table-scroll" }, table));
  return {
    element,
    show(rows: HTMLTableRowElement[], empty: string) {
      body.replaceChildren(...(rows.length ? rows : [h("tr", {}, h("td", { colSpan: columns.length, className: "empty" }, empty))]));
    },
  };
}

/**
 * How a stream delivers: a push stream's endpoint (a poll stream's is this server's own), and the
 * SETs a poll stream's receiver has yet to poll and acknowledge, or refused.
 */
function deliveryOf(stream: StreamSummary, state: Destination | undefined): (Node | string)[] {
  const method = METHODS[stream.method] ?? stream.method;
  if (stream.method === PUSH) return [`${method} `, h("code", {}, stream.endpoint)];
  const queue = state?.receiver.case === "stream" ? state.receiver.value : undefined;
  if (!queue || queue.queued + queue.refused === 0n) return [method];
  return [`${method}: ${countSets(queue.queued)} queued${queue.refused > 0n ? `, ${countSets(queue.refused)} refused` : ""}`];
}

const countSets = (count: bigint) => `${count} ${count === 1n ? "SET" : "SETs"}`;

function conditionLabel(execution: Execution): string {
  const type = execution.condition?.conditionType;
  if (type?.case !== "event") return type?.case ?? "";
  const { condition } = type.value;
  return condition.case === "all" ? "All events" : condition.case === "group" ? `${condition.value}.* (group)` : (condition.value ?? "");
}

export function deliveriesView(clients: Clients, nav: Navigator): View {
  const heading = h("h1", { tabIndex: -1 }, "Deliveries");
  const error = new ErrorBox();
  const refresh = h("button", { type: "button", className: "secondary" }, "Refresh");
  const targets = section("Actions targets", "targets-title", ["Target", "Endpoint", ...STATE_COLUMNS, ""]);
  const executions = section("Executions", "executions-title", ["Condition", "Targets, in call order"]);
  const streams = section("Shared Signals streams", "streams-title", ["Stream", "Receiver", "Delivery", ...STATE_COLUMNS, ""]);
  const gone = section("Destinations that are gone", "gone-title", ["Destination", ...STATE_COLUMNS, ""]);
  const names = new Map<string, string>();
  const parked = new ParkedPanel(clients.deliveries, (destination) => names.get(destination) ?? destination, (delivery) => retryOne(delivery));

  /**
   * Retries, shows the state after, and then announces how many ("Retried 2 deliveries to
   * audit-hook."); the focus goes to the parked list, as the row of the button may be gone.
   */
  async function retry(selection: { ids: bigint[] } | { destination: string }, which: string): Promise<void> {
    error.clear();
    let message = "";
    try {
      const { retried } = await clients.deliveries.retryParkedDeliveries(selection);
      message = `Retried ${countDeliveries(retried)} ${which}.`;
    } catch (err) {
      error.show(`Could not retry the parked deliveries ${which}`, err);
    }
    await load();
    if (message) nav.announce(message);
    parked.heading.focus();
  }
  const retryOne = (delivery: ParkedDelivery) => retry({ ids: [delivery.id] }, `with ID ${delivery.id}`);

  /** The row's cells of state, and a button retrying the destination's parked deliveries if it has any. */
  function stateOf(destination: string, states: Map<string, Destination>, now: Date): HTMLTableCellElement[] {
    const state = states.get(destination);
    const name = names.get(destination) ?? destination;
    const cell = h("td");
    if (state && state.parked > 0n) {
      const button = h("button", { type: "button", className: "secondary" }, "Retry parked");
      button.ariaLabel = `Retry the parked deliveries to ${name}`;
      button.onclick = () => void retry({ destination }, `to ${name}`);
      cell.append(button);
    }
    return [...stateCells(state, now), cell];
  }

  /** Each part is read on its own: one that fails (streams for a token without ssf.read) leaves the others shown. */
  async function read<T>(what: string, call: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await call();
    } catch (err) {
      error.show(`Could not read the ${what}`, err);
      return fallback;
    }
  }

  async function load(): Promise<void> {
    const [destinations, targetList, executionList, streamList] = await Promise.all([
      read("delivery state", async () => (await clients.deliveries.listDestinations({})).destinations, [] as Destination[]),
      read("Actions targets", async () => (await clients.actions.listTargets({ pagination: { limit: LIST_LIMIT, asc: true } })).targets, [] as Target[]),
      read("executions", async () => (await clients.actions.listExecutions({ pagination: { limit: LIST_LIMIT, asc: true } })).executions, [] as Execution[]),
      read("Shared Signals streams", () => clients.streams(), [] as StreamSummary[]),
    ]);
    const now = new Date();
    const states = new Map(destinations.map((d) => [d.destination, d]));
    names.clear();
    for (const target of targetList) names.set(`target:${target.id}`, target.name);
    for (const stream of streamList) names.set(`stream:${stream.id}`, `stream ${stream.id}`);

    targets.show(
      targetList.map((target) =>
        h("tr", {}, h("th", { scope: "row" }, target.name), h("td", {}, h("code", {}, target.endpoint)), ...stateOf(`target:${target.id}`, states, now)),
      ),
      "No targets.",
    );
    executions.show(
      executionList.map((execution) =>
        h("tr", {}, h("th", { scope: "row" }, conditionLabel(execution)), h("td", {}, execution.targets.map((id) => names.get(`target:${id}`) ?? id).join(", "))),
      ),
      "No executions: no event is sent to a target.",
    );
    streams.show(
      streamList.map((stream) =>
        h(
          "tr",
          {},
          h("th", { scope: "row" }, h("code", {}, stream.id), stream.description ? ` ${stream.description}` : ""),
          h("td", {}, h("code", {}, stream.aud)),
          h("td", {}, ...deliveryOf(stream, states.get(`stream:${stream.id}`))),
          ...stateOf(`stream:${stream.id}`, states, now),
        ),
      ),
      "No streams.",
    );
    const left = destinations.filter((d) => !names.has(d.destination));
    gone.element.hidden = left.length === 0;
    gone.show(
      left.map((d) => h("tr", {}, h("th", { scope: "row" }, h("code", {}, d.destination)), ...stateOf(d.destination, states, now))),
      "",
    );
    await parked.load();
  }

  refresh.onclick = async () => {
    refresh.disabled = true;
    error.clear();
    await load();
    refresh.disabled = false;
    nav.announce("Deliveries refreshed.");
  };
  void load();
  return {
    element: h(
      "section",
      { className: "panel" },
      heading,
      h(
        "p",
        { className: "hint" },
        "What waits to be sent to each receiver of events, and what was parked after its receiver kept failing. A retried delivery is sent again at once, with its original id.",
      ),
      h("div", { className: "buttons" }, refresh),
      error.element,
      targets.element,
      executions.element,
      streams.element,
      gone.element,
      parked.element,
    ),
    enter: () => heading.focus(),
  };
}

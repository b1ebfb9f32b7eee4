/**
 * The parked deliveries, oldest first, a page at a time ("Show more"), each with its own Retry
 * button; what a retry does is the screen's (views/deliveries.ts), which reloads this list after.
 */
import type { ParkedDelivery } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import type { DeliveryClient } from "./api.js";
import { h } from "./dom.js";
import { userHref } from "./routes.js";
import { ErrorBox } from "./server-error.js";
import { formatTime } from "./user-fields.js";

const PAGE_SIZE = 50;
const COLUMNS = ["ID", "Destination", "User", "Event", "Attempts", "Written", "Last error", ""];

export class ParkedPanel {
  readonly heading = h("h2", { id: "parked-title", tabIndex: -1 }, "Parked deliveries");
  private readonly body = h("tbody");
  private readonly error = new ErrorBox();
  private readonly more = h("button", { type: "button", className: "secondary", hidden: true }, "Show more");
  private nextPageToken = "";
  readonly element: HTMLElement;

  constructor(
    private readonly client: DeliveryClient,
    /** What to call a destination: its target's or stream's name where it has one. */
    private readonly nameOf: (destination: string) => string,
    private readonly retry: (delivery: ParkedDelivery) => Promise<void>,
  ) {
    this.more.onclick = () => void this.loadPage();
    const table = h(
      "table",
      { className: "deliveries" },
      h("thead", {}, h("tr", {}, ...COLUMNS.map((title) => h("th", { scope: "col" }, title)))),
      this.body,
    );
    table.setAttribute("aria-labelledby", "parked-title");
    this.element = h(
      "section",
      { className: "parked" },
      this.heading,
      h("p", { className: "hint" }, "Deliveries whose receiver kept failing, or refused them for good: sent again only when retried."),
      this.error.element,
      h("div", { className: "table-scroll" }, table),
      this.more,
    );
  }

  /** The first page again. */
  async load(): Promise<void> {
    this.nextPageToken = "";
    this.body.replaceChildren();
    await this.loadPage();
  }

  private async loadPage(): Promise<void> {
    this.error.clear();
    try {
      const page = await this.client.listParkedDeliveries({ pageSize: PAGE_SIZE, pageToken: this.nextPageToken });
      this.body.querySelector(".empty")?.closest("tr")?.remove();
      this.body.append(...page.deliveries.map((delivery) => this.row(delivery)));
      if (this.body.rows.length === 0) this.body.append(h("tr", {}, h("td", { colSpan: COLUMNS.length, className: "empty" }, "No parked deliveries.")));
      this.nextPageToken = page.nextPageToken;
      this.more.hidden = page.nextPageToken === "";
    } catch (err) {
      this.error.show("Could not list the parked deliveries", err);
    }
  }

  private row(delivery: ParkedDelivery): HTMLTableRowElement {
    const retry = h("button", { type: "button", className: "secondary" }, "Retry");
    retry.ariaLabel = `Retry delivery ${delivery.id}`;
    retry.onclick = async () => {
      retry.disabled = true;
      await this.retry(delivery);
      retry.disabled = false;
    };
    return h(
      "tr",
      {},
      h("td", {}, String(delivery.id)),
      h("td", {}, this.nameOf(delivery.destination)),
      h("td", {}, h("a", { href: userHref(delivery.userId) }, h("code", {}, delivery.userId))),
      h("td", {}, `#${delivery.sequence}`),
      h("td", { className: "count" }, String(delivery.attempts)),
      h("td", {}, formatTime(delivery.creationDate)),
      h("td", { className: "last-error" }, delivery.lastError),
      h("td", {}, retry),
    );
  }
}

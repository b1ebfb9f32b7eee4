/**
 * The user page's history (zus.user.v1 ListUserEvents): newest first, a page at a time behind a
 * "More events" button, and events from the live watch put in their place. Rows are kept by
 * sequence, which numbers a user's events 1, 2, 3, … without holes: an event that does not join
 * the rows shown (some were missed) makes the first page be read again instead.
 */
import type { UserEvent } from "../../gen/zus/user/v1/user_record_service_pb.js";
import type { ActorNames } from "./actors.js";
import type { RecordClient } from "./api.js";
import { h } from "./dom.js";
import { causeLabel, eventLabel } from "./record-labels.js";
import { ErrorBox } from "./server-error.js";
import { timeElement } from "./user-fields.js";

const PAGE_SIZE = 20;

export class HistoryPanel {
  private readonly body = h("tbody");
  private readonly moreButton = h("button", { type: "button", className: "secondary", hidden: true }, "More events");
  private readonly error = new ErrorBox();
  readonly element = h(
    "section",
    { className: "history", ariaLabel: "History" },
    h("h2", {}, "History"),
    h(
      "div",
      { className: "table-scroll" },
      h(
        "table",
        { className: "events" },
        h("thead", {}, h("tr", {}, ...["#", "When", "Event", "By", "Details"].map((title) => h("th", { scope: "col" }, title)))),
        this.body,
      ),
    ),
    this.moreButton,
    this.error.element,
  );
  /** The rows shown, by sequence. */
  private readonly rows = new Map<bigint, HTMLTableRowElement>();
  /** The token of the page after the oldest one shown; empty once the first event is shown. */
  private nextPageToken = "";
  /** Where a watch starts to miss nothing after the first page read; empty until then. */
  position = "";

  constructor(
    private readonly records: RecordClient,
    private readonly actors: ActorNames,
    private readonly userId: string,
  ) {
    this.moreButton.onclick = () => void this.more();
  }

  /** Reads the newest page and merges it in; shows the error and rethrows when the read fails. */
  async loadNewest(): Promise<void> {
    try {
      const page = await this.records.listUserEvents({ userId: this.userId, pageSize: PAGE_SIZE });
      this.error.clear();
      this.position ||= page.position;
      const oldest = page.events.at(-1)?.sequence;
      if (this.rows.size === 0 || (oldest !== undefined && oldest > this.newest() + 1n)) {
        // Nothing shown yet, or more events came since than a page holds: start over from this page.
        this.rows.clear();
        this.body.replaceChildren();
        this.setNextPageToken(page.nextPageToken);
      }
      for (const event of page.events) this.put(event);
    } catch (err) {
      this.error.show("Could not load the history", err);
      throw err;
    }
  }

  /**
   * An event from the watch: shown in its place. Answers whether it was new to the page; one
   * that leaves a hole (events missed) reloads the newest page instead.
   */
  add(event: UserEvent): boolean {
    if (this.rows.has(event.sequence)) return false;
    if (this.rows.size > 0 && event.sequence > this.newest() + 1n) void this.loadNewest().catch(() => undefined);
    else this.put(event);
    return true;
  }

  /** The newest sequence shown, 0 when none. */
  newest(): bigint {
    let newest = 0n;
    for (const sequence of this.rows.keys()) if (sequence > newest) newest = sequence;
    return newest;
  }

  private async more(): Promise<void> {
    this.moreButton.disabled = true;
    try {
      const page = await this.records.listUserEvents({ userId: this.userId, pageSize: PAGE_SIZE, pageToken: this.nextPageToken });
      this.error.clear();
      const added = page.events.filter((event) => this.put(event));
      this.setNextPageToken(page.nextPageToken);
      // The button may be gone now: focus moves to the first row it brought, which is read out.
      if (added[0]) this.rows.get(added[0].sequence)?.focus();
    } catch (err) {
      this.error.show("Could not load more events", err);
      this.error.element.focus();
    } finally {
      this.moreButton.disabled = false;
    }
  }

  private setNextPageToken(token: string): void {
    this.nextPageToken = token;
    this.moreButton.hidden = token === "";
  }

  /** Inserts the event's row before the first older one; answers false if it is shown already. */
  private put(event: UserEvent): boolean {
    if (this.rows.has(event.sequence)) return false;
    const row = this.row(event);
    let before: bigint | undefined;
    for (const sequence of this.rows.keys()) {
      if (sequence < event.sequence && (before === undefined || sequence > before)) before = sequence;
    }
    this.body.insertBefore(row, before === undefined ? null : this.rows.get(before)!);
    this.rows.set(event.sequence, row);
    return true;
  }

  private row(event: UserEvent): HTMLTableRowElement {
    const actor = h("td", {}, event.actorId);
    void this.actors.label(event.actorId).then((label) => (actor.textContent = label));
    return h(
      "tr",
      { tabIndex: -1 },
      h("td", {}, String(event.sequence)),
      h("td", {}, event.creationDate ? timeElement(event.creationDate) : ""),
      h("td", {}, eventLabel(event.type), " ", h("code", { className: "event-type" }, event.type)),
      actor,
      h("td", {}, ...(event.lock ? lockDetails(event.lock) : [])),
    );
  }
}

function lockDetails(lock: NonNullable<UserEvent["lock"]>): (Node | string)[] {
  const parts: (Node | string)[] = [`Cause: ${causeLabel(lock.cause)}. Reason: ${lock.reason || "none given"}. Ends: `];
  parts.push(lock.expiresAt ? timeElement(lock.expiresAt) : "when an administrator unlocks");
  parts.push(".");
  return parts;
}

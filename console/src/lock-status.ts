/** The user page's lock status (zus.user.v1 GetLockStatus): locked or not, since when, by whom, why, until when. */
import type { GetLockStatusResponse } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { actorLabel } from "./actors.js";
import type { RecordClient } from "./api.js";
import { h } from "./dom.js";
import { causeLabel } from "./record-labels.js";
import { ErrorBox } from "./server-error.js";
import { timeElement } from "./user-fields.js";

export class LockStatusPanel {
  private readonly list = h("dl", { className: "details" });
  private readonly error = new ErrorBox();
  readonly element = h(
    "section",
    { className: "lock-status", ariaLabel: "Lock status" },
    h("h2", {}, "Lock status"),
    this.list,
    this.error.element,
  );
  /** Only the newest answer is shown when live updates ask faster than the server answers. */
  private latest = 0;

  constructor(
    private readonly records: RecordClient,
    private readonly userId: string,
  ) {}

  async load(): Promise<void> {
    const request = ++this.latest;
    try {
      const status = await this.records.getLockStatus({ userId: this.userId });
      if (request !== this.latest) return;
      this.error.clear();
      this.show(status);
    } catch (err) {
      if (request !== this.latest) return;
      this.list.replaceChildren();
      this.error.show("Could not load the lock status", err);
    }
  }

  private show(status: GetLockStatusResponse): void {
    const rows: [string, Node | string][] = [["Locked", status.locked ? "Yes" : "No"]];
    if (status.locked) {
      rows.push(
        ["Since", status.since ? timeElement(status.since) : "unknown"],
        ["Locked by", status.actor ? actorLabel(status.actor.id, status.actor.name) : "unknown"],
        ["Cause", causeLabel(status.cause)],
        ["Reason", status.reason || "none given"],
        ["Ends", status.expiresAt ? timeElement(status.expiresAt) : "when an administrator unlocks"],
      );
    }
    rows.push(["Failed password attempts", String(status.failedPasswordAttempts)]);
    this.list.replaceChildren(...rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
  }
}

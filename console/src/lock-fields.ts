/**
 * What a lock of ours takes besides the user: a reason (at most 500 characters, as the server
 * allows) and an optional duration, as form fields shared by the lock dialog and the bulk lock.
 */
import { h, labelled } from "./dom.js";

export const MAX_REASON_LENGTH = 500;

const UNIT_SECONDS = { minutes: 60, hours: 3600, days: 86_400 } as const;
type Unit = keyof typeof UNIT_SECONDS;

export interface LockInput {
  reason: string;
  /** Whole seconds; absent for a lock that lasts until an administrator unlocks. */
  seconds?: number;
}

/** The reason and end of a LockUserRequest or BulkLockUsersRequest. */
export function lockRequestFields({ reason, seconds }: LockInput) {
  return {
    reason,
    end: seconds === undefined ? { case: undefined } : ({ case: "duration", value: { seconds: BigInt(seconds) } } as const),
  };
}

export class LockFields {
  /** Focused when a dialog with these fields opens. */
  private readonly reason = h("textarea", { name: "reason", maxLength: MAX_REASON_LENGTH, rows: 3, autofocus: true });
  private readonly amount = h("input", { type: "number", name: "duration", min: "1", step: "1", inputMode: "numeric" });
  private readonly unit = h(
    "select",
    { name: "unit" },
    ...Object.keys(UNIT_SECONDS).map((unit) => h("option", { value: unit, selected: unit === "hours" }, unit)),
  );
  private readonly count = h("p", { className: "hint", id: "lock-reason-count" });
  readonly element: HTMLElement;

  constructor() {
    this.reason.id = "lock-reason";
    this.reason.setAttribute("aria-describedby", "lock-reason-count");
    this.reason.addEventListener("input", () => this.countCharacters());
    this.countCharacters();
    this.amount.setAttribute("aria-describedby", "lock-duration-hint");
    this.element = h(
      "div",
      { className: "lock-fields" },
      h("div", { className: "field" }, h("label", { htmlFor: "lock-reason" }, "Reason (optional)"), this.reason, this.count),
      h(
        "fieldset",
        {},
        h("legend", {}, "Ends by itself (optional)"),
        h("div", { className: "duration" }, labelled("lock-duration", "Lock for", this.amount), labelled("lock-unit", "Unit", this.unit)),
        h("p", { className: "hint", id: "lock-duration-hint" }, "Empty: the lock lasts until an administrator unlocks. At most a year."),
      ),
    );
  }

  /** Fixed once a bulk dry run was made with these values, so that the real run uses the same. */
  set disabled(disabled: boolean) {
    for (const control of [this.reason, this.amount, this.unit]) control.disabled = disabled;
  }

  read(): LockInput {
    const reason = this.reason.value.trim();
    if (this.amount.value === "") return { reason };
    return { reason, seconds: Number(this.amount.value) * UNIT_SECONDS[this.unit.value as Unit] };
  }

  private countCharacters(): void {
    this.count.textContent = `${this.reason.value.length} of ${MAX_REASON_LENGTH} characters`;
  }
}

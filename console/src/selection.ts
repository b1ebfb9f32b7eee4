/**
 * The user list's selection for bulk actions: a checkbox per row and one for all rows of the
 * page. Only users shown can be selected: a new page, filter or reload keeps those still shown.
 */
import type { User } from "../../gen/zitadel/user/v2/user_pb.js";
import { h } from "./dom.js";

export interface SelectedUser {
  id: string;
  username: string;
}

export class PageSelection {
  /** For the header: checked when every row is, mixed when some are. */
  readonly all = h("input", { type: "checkbox", ariaLabel: "Select all users on this page" });
  private readonly rows = new Map<string, { box: HTMLInputElement; username: string }>();
  private readonly chosen = new Set<string>();

  constructor(private readonly onChange: () => void) {
    this.all.addEventListener("change", () => {
      for (const [id, { box }] of this.rows) {
        box.checked = this.all.checked;
        if (this.all.checked) this.chosen.add(id);
        else this.chosen.delete(id);
      }
      this.changed();
    });
  }

  /** The users of the page about to be shown, each with its checkbox (checked if it stays selected). */
  show(users: readonly User[]): Map<string, HTMLInputElement> {
    this.rows.clear();
    for (const user of users) {
      const box = h("input", { type: "checkbox", checked: this.chosen.has(user.userId), ariaLabel: `Select ${user.username}` });
      box.addEventListener("change", () => {
        if (box.checked) this.chosen.add(user.userId);
        else this.chosen.delete(user.userId);
        this.changed();
      });
      this.rows.set(user.userId, { box, username: user.username });
    }
    for (const id of this.chosen) if (!this.rows.has(id)) this.chosen.delete(id);
    this.changed();
    return new Map([...this.rows].map(([id, { box }]) => [id, box]));
  }

  selected(): SelectedUser[] {
    return [...this.chosen].map((id) => ({ id, username: this.rows.get(id)!.username }));
  }

  private changed(): void {
    const count = this.chosen.size;
    this.all.checked = count > 0 && count === this.rows.size;
    this.all.indeterminate = count > 0 && count < this.rows.size;
    this.all.disabled = this.rows.size === 0;
    this.onChange();
  }
}

/**
 * The bulk lock or unlock of the selected users: a dry run first (for a lock, once its reason and
 * duration are given; for an unlock, as the dialog opens) showing what would happen to each user,
 * then the confirm button runs it for real and shows each user's result. Focus moves to each
 * table's heading, so that it is read out; Escape or Cancel closes, except while a call runs.
 */
import type { RecordClient } from "../api.js";
import { resultRows, tallyText, type BulkKind } from "../bulk.js";
import { h } from "../dom.js";
import { LockFields, type LockInput } from "../lock-fields.js";
import type { SelectedUser } from "../selection.js";
import { ErrorBox } from "../server-error.js";
import { countUsers } from "../user-fields.js";
import { showModal } from "./modal.js";

export async function bulkDialog(records: RecordClient, kind: BulkKind, users: readonly SelectedUser[]): Promise<void> {
  const fields = kind.takesLockInput ? new LockFields() : undefined;
  const error = new ErrorBox();
  const heading = h("h3", { id: "bulk-outcome-title", tabIndex: -1 });
  const tally = h("p", { className: "summary" });
  const body = h("tbody");
  const outcome = h(
    "section",
    { hidden: true },
    heading,
    tally,
    // Its cells wrap rather than scroll, so that Tab goes from the heading straight to the buttons.
    h("table", { className: "events" }, h("thead", {}, h("tr", {}, ...["User", "Result", "Error ID"].map((title) => h("th", { scope: "col" }, title)))), body),
  );
  outcome.setAttribute("aria-labelledby", "bulk-outcome-title");
  const cancel = h("button", { type: "button", className: "secondary", autofocus: !fields }, "Cancel");
  const preview = h("button", { type: "submit" }, "Preview");
  const confirm = h("button", { type: "button", hidden: true });
  const form = h("form", {}, ...(fields ? [fields.element] : []), error.element, outcome, h("div", { className: "buttons" }, cancel, preview, confirm));
  const dialog = h(
    "dialog",
    { className: "confirm bulk" },
    h("h2", { id: "bulk-title" }, `${kind.verb} ${countUsers(users.length)}?`),
    h("p", { id: "bulk-text" }, `${kind.consequence} A dry run shows first what would happen; nothing changes until you confirm.`),
    form,
  );
  dialog.setAttribute("aria-labelledby", "bulk-title");
  dialog.setAttribute("aria-describedby", "bulk-text");

  const userIds = users.map((user) => user.id);
  let input: LockInput = { reason: "" };
  let running = false;

  /** Runs the call with the buttons disabled; shows its table, or its error, and moves focus there. */
  async function run(dryRun: boolean): Promise<boolean> {
    running = true;
    for (const button of [cancel, preview, confirm]) button.disabled = true;
    error.clear();
    try {
      const answer = await kind.run(records, userIds, input, dryRun);
      const { rows, tally: counted } = resultRows(kind, answer, users, dryRun);
      heading.textContent = dryRun ? "Dry run: nothing changed yet" : "Results";
      tally.textContent = tallyText(kind, counted, dryRun);
      body.replaceChildren(...rows);
      outcome.hidden = false;
      confirm.textContent = `${kind.verb} ${countUsers(counted.succeeded)}`;
      heading.focus();
      return counted.succeeded > 0;
    } catch (err) {
      error.show(dryRun ? `Could not make the dry run` : `Could not ${kind.verb.toLowerCase()} the users`, err);
      error.element.focus();
      throw err;
    } finally {
      running = false;
      for (const button of [cancel, preview, confirm]) button.disabled = false;
    }
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    input = fields?.read() ?? input;
    run(true).then(
      (anything) => {
        if (fields) fields.disabled = true;
        preview.hidden = true;
        confirm.hidden = false;
        confirm.disabled = !anything;
      },
      () => undefined,
    );
  });
  confirm.onclick = () => {
    run(false).then(
      () => {
        confirm.hidden = true;
        cancel.textContent = "Close";
      },
      () => undefined,
    );
  };
  cancel.onclick = () => dialog.close();
  dialog.addEventListener("cancel", (event) => {
    if (running) event.preventDefault();
  });

  const closed = showModal(dialog);
  if (!fields) form.requestSubmit();
  await closed;
}

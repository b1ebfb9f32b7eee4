/** Shows a <dialog> modally; once it closes it is removed and focus returns to the element that opened it. */
export function showModal(dialog: HTMLDialogElement): Promise<void> {
  const opener = document.activeElement instanceof HTMLElement ? document.activeElement : null;
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      dialog.remove();
      opener?.focus();
      resolve();
    });
  });
}

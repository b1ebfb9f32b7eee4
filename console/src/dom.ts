/** Builds an element from its properties (e.g. className, htmlFor, disabled, onclick) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: Partial<HTMLElementTagNameMap[K]> = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const element = Object.assign(document.createElement(tag), props);
  element.append(...children);
  return element;
}

/** A form control with its visible <label>. */
export function labelled(id: string, label: string, control: HTMLInputElement | HTMLSelectElement): HTMLElement {
  control.id = id;
  return h("div", { className: "field" }, h("label", { htmlFor: id }, label), control);
}

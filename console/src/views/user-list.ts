/**
 * The user list: search by username, filters by state and organization, sortable columns, pages,
 * and a selection of the page's users to lock or unlock in bulk.
 */
import type { User } from "../../../gen/zitadel/user/v2/user_pb.js";
import type { Clients } from "../api.js";
import { BULK_LOCK, BULK_UNLOCK, type BulkKind } from "../bulk.js";
import { h, labelled } from "../dom.js";
import { filtersFrom, listRequest, PAGE_SIZE, queryOf, SORT_COLUMNS, type ListFilters, type SortColumn } from "../list-filters.js";
import { userHref, usersHref, type Route } from "../routes.js";
import { PageSelection } from "../selection.js";
import { ErrorBox } from "../server-error.js";
import { countUsers, displayName, formatTime, userType } from "../user-fields.js";
import { FILTERABLE_STATES, stateBadge, stateFromParam, stateLabel, stateParam } from "../user-state.js";
import { bulkDialog } from "./bulk-dialog.js";
import type { Navigator, View } from "./view.js";

const COLUMNS: { title: string; sort?: SortColumn }[] = [
  { title: "Username", sort: "username" },
  { title: "Name", sort: "name" },
  { title: "Type", sort: "type" },
  { title: "Organization" },
  { title: "State", sort: "state" },
  { title: "Created", sort: "created" },
];

export function userListView(clients: Clients, nav: Navigator, route: Extract<Route, { name: "users" }>): View {
  const client = clients.users;
  let filters = filtersFrom(route.query);
  /** Only the newest request's answer is shown when filters change faster than the server answers. */
  let latest = 0;
  const organizations = new Set<string>();

  const username = h("input", { type: "search", name: "username", autocomplete: "off" });
  const state = h(
    "select",
    { name: "state" },
    h("option", { value: "" }, "All states"),
    ...FILTERABLE_STATES.map((s) => h("option", { value: stateParam(s) }, stateLabel(s))),
  );
  const organization = h("input", { type: "text", name: "org", autocomplete: "off", spellcheck: false });
  organization.setAttribute("list", "known-organizations");
  const knownOrganizations = h("datalist", { id: "known-organizations" });
  const form = h(
    "form",
    { className: "filters", role: "search", ariaLabel: "Find users" },
    labelled("filter-username", "Username contains", username),
    labelled("filter-state", "State", state),
    labelled("filter-org", "Organization ID", organization),
    knownOrganizations,
    h("button", { type: "submit" }, "Search"),
  );
  const show = (next: ListFilters) => nav.go(usersHref(queryOf(next)));
  const fromForm = (): ListFilters => ({
    ...filters,
    username: username.value.trim(),
    state: stateFromParam(state.value),
    organizationId: organization.value.trim(),
    page: 1,
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    show(fromForm());
  });
  state.addEventListener("change", () => show(fromForm()));

  const error = new ErrorBox();
  const summary = h("p", { className: "summary", id: "list-summary", ariaLive: "polite" });
  const body = h("tbody");
  const previous = h("button", { type: "button", className: "secondary" }, "Previous page");
  const next = h("button", { type: "button", className: "secondary" }, "Next page");
  const pageLabel = h("span");
  previous.onclick = () => show({ ...filters, page: filters.page - 1 });
  next.onclick = () => show({ ...filters, page: filters.page + 1 });
  const heading = h("h1", { tabIndex: -1 }, "Users");

  const selectedCount = h("span", { id: "selection-count" }, "No users selected");
  const bulkButtons = [BULK_LOCK, BULK_UNLOCK].map((kind) => {
    const button = h("button", { type: "button", className: "secondary", disabled: true }, `${kind.verb} selected…`);
    button.setAttribute("aria-describedby", "selection-count");
    button.onclick = () => void bulk(kind);
    return button;
  });
  const selection = new PageSelection(() => {
    const count = selection.selected().length;
    selectedCount.textContent = count === 0 ? "No users selected" : `${countUsers(count)} selected`;
    for (const button of bulkButtons) button.disabled = count === 0;
  });

  /**
   * The selection stays (focus returns to its button, and the same users can be unlocked again);
   * the list is reloaded also after a failed or cancelled run, as a call that failed on the way
   * may have changed some users.
   */
  async function bulk(kind: BulkKind): Promise<void> {
    await bulkDialog(clients.records, kind, selection.selected());
    await load();
  }

  /** Header cells are made once (a click keeps its focus); `aria-sort` follows the filters. */
  const headers = COLUMNS.map(({ title, sort }) => {
    if (!sort) return { cell: h("th", { scope: "col" }, title) };
    const button = h("button", { type: "button", className: "sort" }, title);
    button.onclick = () =>
      show({ ...filters, sort, ascending: filters.sort === sort ? !filters.ascending : true, page: 1 });
    return { cell: h("th", { scope: "col" }, button), sort };
  });
  const selectAll = h("th", { scope: "col" }, selection.all);
  const table = h("table", { className: "users" }, h("thead", {}, h("tr", {}, selectAll, ...headers.map(({ cell }) => cell))), body);
  table.setAttribute("aria-describedby", "list-summary");

  function row(user: User, checkbox: HTMLInputElement): HTMLTableRowElement {
    const owner = user.details?.resourceOwner ?? "";
    return h(
      "tr",
      {},
      h("td", {}, checkbox),
      h("th", { scope: "row" }, h("a", { href: userHref(user.userId) }, user.username)),
      h("td", {}, displayName(user)),
      h("td", {}, userType(user)),
      h("td", {}, h("code", {}, owner)),
      h("td", {}, stateBadge(user.state)),
      h("td", {}, formatTime(user.details?.creationDate)),
    );
  }

  function syncControls(): void {
    username.value = filters.username;
    state.value = filters.state === undefined ? "" : stateParam(filters.state);
    organization.value = filters.organizationId;
    for (const { cell, sort } of headers) {
      if (sort === filters.sort) cell.ariaSort = filters.ascending ? "ascending" : "descending";
      else cell.removeAttribute("aria-sort");
    }
  }

  async function load(): Promise<void> {
    const request = ++latest;
    table.ariaBusy = "true";
    error.clear();
    try {
      const answer = await client.listUsers(listRequest(filters));
      if (request !== latest) return;
      const total = Number(answer.details?.totalResult ?? 0n);
      const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      const checkboxes = selection.show(answer.result);
      body.replaceChildren(
        ...(answer.result.length > 0
          ? answer.result.map((user) => row(user, checkboxes.get(user.userId)!))
          : [h("tr", {}, h("td", { colSpan: COLUMNS.length + 1, className: "empty" }, "No users match."))]),
      );
      summary.textContent = `${countUsers(total)}, page ${filters.page} of ${pages}`;
      pageLabel.textContent = `Page ${filters.page} of ${pages}`;
      previous.disabled = filters.page <= 1;
      next.disabled = filters.page >= pages;
      for (const user of answer.result) if (user.details) organizations.add(user.details.resourceOwner);
      knownOrganizations.replaceChildren(...[...organizations].map((id) => h("option", { value: id })));
    } catch (err) {
      if (request !== latest) return;
      error.show("Could not list the users", err);
      body.replaceChildren();
      selection.show([]);
      summary.textContent = "";
    } finally {
      if (request === latest) table.ariaBusy = "false";
    }
  }

  syncControls();
  void load();
  return {
    element: h(
      "section",
      { className: "panel" },
      heading,
      form,
      error.element,
      summary,
      h("div", { className: "bulk-bar", role: "group", ariaLabel: "Selected users" }, selectedCount, ...bulkButtons),
      h("div", { className: "table-scroll" }, table),
      h("nav", { className: "pager", ariaLabel: "Pages" }, previous, pageLabel, next),
    ),
    enter: () => heading.focus(),
    update(changed) {
      if (changed.name !== "users") return;
      filters = filtersFrom(changed.query);
      syncControls();
      void load();
    },
  };
}

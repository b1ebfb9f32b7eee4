/**
 * The user list: search by username, filters by state and organization, sortable columns, pages,
 * and a selection of the page's users to lock or unlock in bulk. It follows the events that add,
 * remove or change the state of users live (of the organization filtered by, if any): a burst of
 * them that touches the page reloads it and announces the states that changed.
 */
import type { Clients } from "../api.js";
import { BULK_LOCK, BULK_UNLOCK, type BulkKind } from "../bulk.js";
import { h, labelled } from "../dom.js";
import { coalesced, follow } from "../live.js";
import { filtersFrom, listRequest, PAGE_SIZE, queryOf, type ListFilters, type SortColumn } from "../list-filters.js";
import { usersHref, type Route } from "../routes.js";
import { PageSelection } from "../selection.js";
import { ErrorBox } from "../server-error.js";
import { countUsers } from "../user-fields.js";
import { UserRows, type StateChange } from "../user-rows.js";
import { FILTERABLE_STATES, stateFromParam, stateLabel, stateParam } from "../user-state.js";
import { bulkDialog } from "./bulk-dialog.js";
import type { Navigator, View } from "./view.js";

/** What changes a row or the list's length; password checks, the most frequent events, do neither. */
const LIST_EVENT_TYPES = [
  "user.human.added",
  "user.machine.added",
  "user.locked",
  "user.unlocked",
  "user.deactivated",
  "user.reactivated",
  "user.removed",
];
/** More changes than this at once are announced as a count. */
const NAMED_CHANGES = 3;

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
  const rows = new UserRows(COLUMNS.length + 1);
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
    inBulk = true;
    try {
      await bulkDialog(clients.records, kind, selection.selected());
    } finally {
      inBulk = false;
    }
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
  const table = h("table", { className: "users" }, h("thead", {}, h("tr", {}, selectAll, ...headers.map(({ cell }) => cell))), rows.body);
  table.setAttribute("aria-describedby", "list-summary");

  function syncControls(): void {
    username.value = filters.username;
    state.value = filters.state === undefined ? "" : stateParam(filters.state);
    organization.value = filters.organizationId;
    for (const { cell, sort } of headers) {
      if (sort === filters.sort) cell.ariaSort = filters.ascending ? "ascending" : "descending";
      else cell.removeAttribute("aria-sort");
    }
  }

  /** Shows the page the filters name; answers the states that changed in rows shown before. */
  async function load(): Promise<StateChange[]> {
    const request = ++latest;
    table.ariaBusy = "true";
    error.clear();
    try {
      const answer = await client.listUsers(listRequest(filters));
      if (request !== latest) return [];
      const total = Number(answer.details?.totalResult ?? 0n);
      const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
      selection.show(answer.result);
      const changes = rows.show(answer.result, (userId) => selection.checkboxOf(userId));
      summary.textContent = `${countUsers(total)}, page ${filters.page} of ${pages}`;
      pageLabel.textContent = `Page ${filters.page} of ${pages}`;
      previous.disabled = filters.page <= 1;
      next.disabled = filters.page >= pages;
      for (const user of answer.result) if (user.details) organizations.add(user.details.resourceOwner);
      knownOrganizations.replaceChildren(...[...organizations].map((id) => h("option", { value: id })));
      return changes;
    } catch (err) {
      if (request !== latest) return [];
      error.show("Could not list the users", err);
      rows.clear();
      selection.show([]);
      summary.textContent = "";
      return [];
    } finally {
      if (request === latest) table.ariaBusy = "false";
    }
  }

  /** While the bulk dialog is open it reports each user's result itself: live changes are not announced too. */
  let inBulk = false;
  const reloadForEvent = coalesced(async () => {
    const changes = await load();
    if (changes.length === 0 || inBulk) return;
    const said =
      changes.length > NAMED_CHANGES
        ? `${countUsers(changes.length)} changed state`
        : changes.map(({ username, state }) => `${username} is now ${stateLabel(state)}`).join("; ");
    nav.announce(`Live update: ${said}.`);
  });
  let stopFollowing: (() => void) | undefined;
  let followedOrganization: string | undefined;
  /** (Re)starts following when the organization filtered by changed. */
  function followFiltered(): void {
    if (followedOrganization === filters.organizationId) return;
    stopFollowing?.();
    followedOrganization = filters.organizationId;
    const filter = { organizationId: filters.organizationId, types: LIST_EVENT_TYPES };
    stopFollowing = follow(clients.watch, filter, "", (event) => {
      // A new user may belong on this page; any other event matters only to a user shown.
      if (event.type.endsWith(".added") || rows.shows(event.userId)) reloadForEvent();
    });
  }

  syncControls();
  void load();
  followFiltered();
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
      followFiltered();
    },
    leave: () => stopFollowing?.(),
  };
}

/**
 * The admin console's lock record (EXTENSIONS.md §1, console) in a real Chromium against a real
 * server: a user's lock status and history, locking with a reason and an end through the dialog,
 * bulk lock and unlock with their dry run, and live updates of open pages from the watch.
 */
import { createClient } from "@connectrpc/connect";
import { durationFromMs, timestampDate } from "@bufbuild/protobuf/wkt";
import type { Locator, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { UserRecordService } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport, userClient, type UserClient } from "./support/clients.js";
import { ConsoleBrowser, focused } from "./support/console-browser.js";
import { addHuman, addOrg } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let browser: ConsoleBrowser;
let users: UserClient;
let records: ReturnType<typeof recordClient>;
const recordClient = () => createClient(UserRecordService, transport("connect-json", server.baseUrl, server.adminToken));

beforeAll(async () => {
  server = await startServer();
  browser = new ConsoleBrowser(server);
  users = userClient("connect-json", server.baseUrl, server.adminToken);
  records = recordClient();
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
});

/** A signed-in tab on the user's page. */
async function openUser(userId: string) {
  const tab = await browser.open();
  await browser.signIn(tab.page);
  const { user } = await users.getUserByID({ userId });
  await tab.page.goto(`${server.baseUrl}/console/#/users/${userId}`);
  await tab.page.getByRole("heading", { level: 1, name: user!.username }).waitFor();
  return tab;
}

/** A signed-in tab on the list of an organization's users. */
async function browserOnList(orgId: string) {
  const tab = await browser.open();
  await browser.signIn(tab.page);
  await tab.page.goto(`${server.baseUrl}/console/#/users?org=${orgId}`);
  await tab.page.getByText(/^\d+ users?, page 1 of 1$/).waitFor();
  return tab;
}

const rowOf = (page: Page, username: string) => page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: username }) });

/** A <dl>'s terms and values (a value's text as shown). */
const definitions = (list: Locator): Promise<Record<string, string>> =>
  list.evaluate((dl) => {
    const terms = [...dl.querySelectorAll("dt")];
    return Object.fromEntries(terms.map((dt) => [dt.textContent, (dt.nextElementSibling as HTMLElement).innerText]));
  });

const lockStatus = (page: Page) => page.getByRole("region", { name: "Lock status" });
const history = (page: Page) => page.getByRole("region", { name: "History" });
const historyRows = (page: Page) => history(page).locator("tbody tr");
/** The `datetime` of the <time>s in the locator. */
const times = (locator: Locator) => locator.locator("time").evaluateAll((els) => els.map((el) => el.getAttribute("datetime")));

/** "admin (id)", as the console names the signed-in administrator. */
async function adminLabel(userId: string): Promise<string> {
  const { actor } = await records.getLockStatus({ userId });
  return `${actor!.name} (${actor!.id})`;
}

describe("a user's page", () => {
  it("shows the lock status and the history, newest first, older events behind More events", async () => {
    const userId = await addHuman(users);
    for (let i = 0; i < 12; i++) {
      await users.lockUser({ userId });
      await users.unlockUser({ userId });
    }
    await records.lockUser({ userId, reason: "phished, see ticket 42", end: { case: "duration", value: durationFromMs(2 * 3_600_000) } });
    const status = await records.getLockStatus({ userId });
    const { page, errors } = await openUser(userId);

    await lockStatus(page).getByText("phished, see ticket 42").waitFor();
    const shown = await definitions(lockStatus(page).locator("dl"));
    expect(shown).toMatchObject({
      Locked: "Yes",
      "Locked by": await adminLabel(userId),
      Cause: "Administrator",
      Reason: "phished, see ticket 42",
      "Failed password attempts": "0",
    });
    expect(await times(lockStatus(page))).toEqual([timestampDate(status.since!).toISOString(), timestampDate(status.expiresAt!).toISOString()]);

    await historyRows(page).nth(19).waitFor();
    expect(await historyRows(page).count()).toBe(20);
    const newest = historyRows(page).first();
    await newest.getByText("admin (").waitFor();
    const cells = await newest.locator("td").allInnerTexts();
    expect(cells.slice(0, 1).concat(cells.slice(2, 4))).toEqual(["26", "Locked user.locked", await adminLabel(userId)]);
    expect(cells[4]).toMatch(/^Cause: Administrator\. Reason: phished, see ticket 42\. Ends: .+\.$/);
    expect(await times(newest)).toEqual([timestampDate(status.since!).toISOString(), timestampDate(status.expiresAt!).toISOString()]);
    expect(await historyRows(page).nth(1).locator("td").nth(2).innerText()).toBe("Unlocked user.unlocked");

    // Keyboard: More events brings the six oldest; focus moves to the first of them, the button goes.
    const more = history(page).getByRole("button", { name: "More events" });
    await more.focus();
    await page.keyboard.press("Enter");
    await historyRows(page).nth(25).waitFor();
    expect(await historyRows(page).locator("td:first-child").allInnerTexts()).toEqual(
      Array.from({ length: 26 }, (_, i) => String(26 - i)),
    );
    expect(await page.evaluate(() => document.activeElement?.querySelector("td")?.textContent)).toBe("6");
    expect(await historyRows(page).last().locator("td").nth(2).innerText()).toBe("Created user.human.added");
    expect(await more.isHidden()).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("locks with a reason and an end through the dialog, by keyboard; input the server refuses is shown in the dialog", async () => {
    const userId = await addHuman(users);
    const { page, errors } = await openUser(userId);
    await lockStatus(page).getByText("Failed password attempts").waitFor();
    expect((await definitions(lockStatus(page).locator("dl"))).Locked).toBe("No");

    await page.getByRole("button", { name: "Lock", exact: true }).focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: /^Lock user-/ });
    await dialog.waitFor();
    expect(await focused(page)).toBe("lock-reason");
    expect(await dialog.getByLabel("Reason (optional)").getAttribute("maxlength")).toBe("500");
    await page.keyboard.type("phished, see ticket 7");
    await dialog.getByText("21 of 500 characters").waitFor();
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("lock-duration");
    await page.keyboard.type("400");
    await page.keyboard.press("Tab");
    await page.keyboard.press("ArrowDown"); // hours → days
    expect(await dialog.getByLabel("Unit").inputValue()).toBe("days");
    await page.keyboard.press("Tab");
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("Lock user");
    await page.keyboard.press("Enter");

    // Over a year: the server's InvalidArgument shows in the dialog, which stays open; nothing changed.
    const alert = dialog.getByRole("alert");
    await alert.getByText("invalid LockUserRequest.Duration: the lock must end within a year").waitFor();
    expect(await alert.innerText()).toContain("InvalidArgument");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("role"))).toBe("alert");
    expect((await users.getUserByID({ userId })).user!.state).toBe(UserState.ACTIVE);

    await dialog.getByLabel("Lock for").fill("2");
    await dialog.getByLabel("Unit").selectOption("hours");
    await dialog.getByLabel("Lock for").press("Enter");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("status").getByText(/^User user-.* locked\.$/).waitFor();
    await lockStatus(page).getByText("phished, see ticket 7").waitFor();

    const status = await records.getLockStatus({ userId });
    expect(status.reason).toBe("phished, see ticket 7");
    const lasts = timestampDate(status.expiresAt!).getTime() - timestampDate(status.since!).getTime();
    expect(Math.abs(lasts - 2 * 3_600_000)).toBeLessThan(1000);
    const ends = timestampDate(status.expiresAt!).toISOString();
    expect(await times(lockStatus(page))).toEqual([timestampDate(status.since!).toISOString(), ends]);
    expect((await definitions(lockStatus(page).locator("dl"))).Locked).toBe("Yes");

    const newest = historyRows(page).first();
    await newest.getByText("phished, see ticket 7").waitFor();
    expect(await newest.locator("td").first().innerText()).toBe("2");
    expect(await times(newest.locator("td").last())).toEqual([ends]);
    expect(await historyRows(page).count()).toBe(2);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows a lock made through the API within a second, without a reload, and announces it", async () => {
    const userId = await addHuman(users);
    const { user } = await users.getUserByID({ userId });
    const { page, errors } = await openUser(userId);
    await historyRows(page).first().waitFor();
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    await records.lockUser({ userId, reason: "seen from afar", end: { case: "duration", value: durationFromMs(3_600_000) } });
    const shown = { timeout: 1000 };
    await Promise.all([
      page.locator(".details .badge", { hasText: /^Locked$/ }).waitFor(shown),
      lockStatus(page).getByText("seen from afar").waitFor(shown),
      historyRows(page).first().getByText("Reason: seen from afar").waitFor(shown),
      page.getByRole("status").getByText(`Live update for ${user!.username}: Locked.`).waitFor(shown),
    ]);
    expect(await historyRows(page).locator("td:first-child").allInnerTexts()).toEqual(["2", "1"]);
    expect((await definitions(lockStatus(page).locator("dl"))).Locked).toBe("Yes");

    await users.unlockUser({ userId });
    await Promise.all([
      page.locator(".details .badge", { hasText: /^Active$/ }).waitFor(shown),
      historyRows(page).first().getByText("Unlocked").waitFor(shown),
    ]);
    expect((await definitions(lockStatus(page).locator("dl"))).Locked).toBe("No");
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

describe("the user list", () => {
  /** Users of a new organization, by username: three active, one locked. */
  async function team() {
    const orgId = await addOrg(server);
    const ids = await Promise.all([0, 1, 2, 3].map(() => addHuman(users, { orgId })));
    await users.lockUser({ userId: ids[3]! });
    const names = await Promise.all(ids.map(async (userId) => (await users.getUserByID({ userId })).user!.username));
    return { orgId, ids, names };
  }

  const sequences = (ids: string[]) => Promise.all(ids.map(async (userId) => (await users.getUserByID({ userId })).details!.sequence));
  const states = (ids: string[]) => Promise.all(ids.map(async (userId) => (await users.getUserByID({ userId })).user!.state));
  const outcomeRows = (dialog: Locator) =>
    dialog.locator("tbody tr").evaluateAll((rows) => rows.map((row) => [...row.children].map((cell) => (cell as HTMLElement).innerText)));

  it("locks the selected users in bulk, by keyboard: the dry run first, then the results; unlocks them the same way", async () => {
    const { orgId, ids, names } = await team();
    const [a, b, c, d] = names as [string, string, string, string];
    const { page, errors } = await browserOnList(orgId);
    const lockSelected = page.getByRole("button", { name: "Lock selected…", exact: true });
    expect(await lockSelected.isDisabled()).toBe(true);

    // Select all on the page with the keyboard, then leave c out.
    await page.getByLabel("Select all users on this page").focus();
    await page.keyboard.press("Space");
    await page.getByText("4 users selected").waitFor();
    await page.getByLabel(`Select ${c}`).uncheck();
    await page.getByText("3 users selected").waitFor();
    expect(await page.getByLabel("Select all users on this page").evaluate((box: HTMLInputElement) => box.indeterminate)).toBe(true);

    await lockSelected.focus();
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog", { name: "Lock 3 users?" });
    await dialog.waitFor();
    expect(await focused(page)).toBe("lock-reason");
    await page.keyboard.type("credential stuffing, ticket 99");
    await page.keyboard.press("Tab");
    await page.keyboard.type("3");
    await page.keyboard.press("Tab"); // the unit: hours
    await page.keyboard.press("Tab"); // Cancel
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("Preview");
    const before = await sequences(ids);
    await page.keyboard.press("Enter");

    await dialog.getByRole("heading", { name: "Dry run: nothing changed yet" }).waitFor();
    expect(await focused(page)).toBe("bulk-outcome-title");
    await dialog.getByText("2 users would be locked, 1 would fail.").waitFor();
    expect(await outcomeRows(dialog)).toEqual(
      expect.arrayContaining([
        [a, "Would be locked", ""],
        [b, "Would be locked", ""],
        [d, "Would fail: FailedPrecondition, User is not active or initial", "COMMAND-lgws8wtsqf"],
      ]),
    );
    expect(await outcomeRows(dialog)).toHaveLength(3);
    expect(await sequences(ids)).toEqual(before);
    expect(await dialog.getByLabel("Reason (optional)").isDisabled()).toBe(true);

    await page.keyboard.press("Tab"); // Cancel
    await page.keyboard.press("Tab");
    expect(await focused(page)).toBe("Lock 2 users");
    await page.keyboard.press("Enter");
    await dialog.getByRole("heading", { name: "Results" }).waitFor();
    expect(await focused(page)).toBe("bulk-outcome-title");
    await dialog.getByText("2 users locked, 1 failed.").waitFor();
    expect(await outcomeRows(dialog)).toEqual(
      expect.arrayContaining([
        [a, "Locked", ""],
        [b, "Locked", ""],
        [d, "Failed: FailedPrecondition, User is not active or initial", "COMMAND-lgws8wtsqf"],
      ]),
    );
    expect(await states(ids)).toEqual([UserState.LOCKED, UserState.LOCKED, UserState.ACTIVE, UserState.LOCKED]);
    for (const userId of ids.slice(0, 2)) {
      const status = await records.getLockStatus({ userId });
      expect(status.reason).toBe("credential stuffing, ticket 99");
      expect(timestampDate(status.expiresAt!).getTime() - timestampDate(status.since!).getTime()).toBeCloseTo(3 * 3_600_000, -3);
    }

    // Closing shows the list as it is now; the selection stays, for an unlock of the same users.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await focused(page)).toBe("Lock selected…");
    await rowOf(page, b).getByText("Locked").waitFor();
    await rowOf(page, a).getByText("Locked").waitFor();
    await page.getByText("3 users selected").waitFor();

    await page.getByLabel(`Select ${d}`).uncheck();
    await page.getByRole("button", { name: "Unlock selected…" }).click();
    const unlock = page.getByRole("dialog", { name: "Unlock 2 users?" });
    await unlock.getByText("2 users would be unlocked.").waitFor();
    await unlock.getByRole("button", { name: "Unlock 2 users" }).click();
    await unlock.getByText("2 users unlocked.").waitFor();
    expect(await outcomeRows(unlock)).toEqual(expect.arrayContaining([[a, "Unlocked", ""], [b, "Unlocked", ""]]));
    await unlock.getByRole("button", { name: "Close" }).click();
    await rowOf(page, a).getByText("Active").waitFor();
    expect(await states(ids)).toEqual([UserState.ACTIVE, UserState.ACTIVE, UserState.ACTIVE, UserState.LOCKED]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it("shows locks made through the API within a second, keeping the focus, and announces them", async () => {
    const { orgId, ids, names } = await team();
    const { page, errors } = await browserOnList(orgId);
    await page.evaluate(() => ((window as unknown as { notReloaded: boolean }).notReloaded = true));

    // The list follows from the moment its watch starts: a first lock shows once it runs.
    await following(page, ids[0]!, names[0]!);

    await page.getByLabel(`Select ${names[2]}`).focus();
    await users.lockUser({ userId: ids[1]! });
    const shown = { timeout: 1000 };
    await Promise.all([
      rowOf(page, names[1]!).locator(".badge", { hasText: /^Locked$/ }).waitFor(shown),
      page.getByRole("status").getByText(`Live update: ${names[1]} is now Locked.`).waitFor(shown),
    ]);
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(`Select ${names[2]}`);
    expect(await page.evaluate(() => (window as unknown as { notReloaded?: boolean }).notReloaded)).toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});

/** Locks the user until the list shows it locked (unlocking between tries): then the list's watch runs. */
async function following(page: Page, userId: string, username: string): Promise<void> {
  for (let attempt = 0; attempt < 10; attempt++) {
    await users.lockUser({ userId });
    const seen = await rowOf(page, username)
      .locator(".badge", { hasText: /^Locked$/ })
      .waitFor({ timeout: 1000 })
      .then(() => true, () => false);
    if (seen) return;
    await users.unlockUser({ userId });
  }
  throw new Error("the list did not follow the watch");
}

describe("across a server restart", () => {
  it("the user page resumes its watch from where it was and misses nothing committed meanwhile", async () => {
    const userId = await addHuman(users);
    const { page, errors } = await openUser(userId);
    await historyRows(page).first().waitFor();

    await server.restart(500);
    // At once, probably before the page has come back: the watch resumes from its last position.
    await records.lockUser({ userId, reason: "while you were away" });
    await Promise.all([
      lockStatus(page).getByText("while you were away").waitFor({ timeout: 10_000 }),
      historyRows(page).first().getByText("Reason: while you were away").waitFor({ timeout: 10_000 }),
    ]);
    // Tries while the server was down fail as network errors, which Chromium logs; nothing else may.
    expect(errors.filter((error) => !error.includes("net::ERR_CONNECTION_REFUSED"))).toEqual([]);
    await page.close();
  }, 60_000);
});

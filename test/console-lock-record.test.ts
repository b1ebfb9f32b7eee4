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
import { addHuman } from "./support/fixtures.js";
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
});

/**
 * The console's Deliveries screen in a real Chromium against a real server: Actions targets,
 * executions and Shared Signals streams, each with its delivery state (a poll stream's SETs
 * waiting in its queue), and the parked deliveries of a target whose receiver on 127.0.0.1
 * answered 500, retried one by one and per destination once it answers 200, and then received.
 */
import type { Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { userClient } from "./support/clients.js";
import { ConsoleBrowser } from "./support/console-browser.js";
import { addHuman } from "./support/fixtures.js";
import { ActionsReceiver } from "./support/actions-receiver.js";
import { acceptedLocks, PARKING_ENV, refusingLockTarget, untilParked } from "./support/parking.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
const receiver = new ActionsReceiver();
let browser: ConsoleBrowser;
const ACCOUNT_DISABLED = "https://schemas.openid.net/secevent/risc/event-type/account-disabled";
let streamId: string;
const locked: string[] = [];

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await fetch(`${server.baseUrl}${path}`, { method: "POST", headers: { authorization: `Bearer ${server.adminToken}` }, body: JSON.stringify(body) });
  expect(res.ok, `POST ${path}: ${res.status}`).toBe(true);
  return (await res.json()) as Record<string, unknown>;
}

beforeAll(async () => {
  await receiver.start();
  server = await startServer({ env: PARKING_ENV });
  browser = new ConsoleBrowser(server);
  await post("/v2/actions/targets", { name: "idle-hook", restAsync: {}, timeout: "5s", endpoint: receiver.url });
  const target = await refusingLockTarget(server, receiver, "console-hook");
  const stream = { delivery: { method: "urn:ietf:rfc:8936" }, events_requested: [ACCOUNT_DISABLED], description: "audit receiver" };
  streamId = String((await post("/ssf/streams", stream)).stream_id);
  const users = userClient("connect-json", server.baseUrl, server.adminToken);
  for (let i = 0; i < 2; i++) {
    const userId = await addHuman(users);
    await users.lockUser({ userId });
    locked.push(userId);
  }
  await untilParked(server, `target:${target.id}`, 2);
});
afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await receiver.stop();
});

/** The cells of the row of `table` whose header cell says `name`. */
const cells = (page: Page, table: string, name: string) =>
  page.getByRole("table", { name: table }).getByRole("row").filter({ has: page.getByRole("rowheader", { name }) }).getByRole("cell").allTextContents();
const parkedUsers = (page: Page) => page.getByRole("table", { name: "Parked deliveries" }).locator("tbody td:nth-child(3)").allTextContents();

describe("Deliveries", () => {
  it("lists targets, executions and streams with their delivery state, and retries parked deliveries one by one and per target", async () => {
    const { page, errors } = await browser.open();
    await browser.signIn(page);
    await page.getByRole("navigation", { name: "Sections" }).getByRole("link", { name: "Deliveries" }).click();
    await page.getByRole("heading", { level: 1, name: "Deliveries" }).waitFor();
    expect(await page.getByRole("link", { name: "Deliveries" }).getAttribute("aria-current")).toBe("page");

    await expect.poll(() => cells(page, "Actions targets", "console-hook")).toEqual([receiver.url, "0", "2", "", "the target answered 500", "Retry parked"]);
    expect(await cells(page, "Actions targets", "idle-hook")).toEqual([receiver.url, "0", "0", "", "", ""]);
    expect(await cells(page, "Executions", "user.locked")).toEqual(["console-hook"]);
    // Each lock's SET left the outbox for the poll queue, where it waits for the receiver.
    await expect.poll(async () => (await cells(page, "Shared Signals streams", streamId)).slice(1)).toEqual(["Poll: 2 SETs queued", "0", "0", "", "", ""]);
    expect(await page.getByRole("heading", { name: "Destinations that are gone" }).isVisible()).toBe(false);
    await expect.poll(() => parkedUsers(page)).toEqual(locked);

    receiver.status = 200;
    const table = page.getByRole("table", { name: "Parked deliveries" });
    const firstId = (await table.locator("tbody td:first-child").first().textContent())!;
    await page.getByRole("button", { name: `Retry delivery ${firstId}` }).click();
    await page.getByRole("status").getByText(`Retried 1 delivery with ID ${firstId}.`).waitFor();
    await expect.poll(() => acceptedLocks(receiver), { timeout: 10_000 }).toEqual([locked[0]]);
    expect(await parkedUsers(page)).toEqual([locked[1]]);
    expect(await page.evaluate("document.activeElement?.id")).toBe("parked-title");

    await page.getByRole("button", { name: "Retry the parked deliveries to console-hook" }).click();
    await page.getByRole("status").getByText("Retried 1 delivery to console-hook.").waitFor();
    await table.getByText("No parked deliveries.").waitFor();
    await expect.poll(() => acceptedLocks(receiver), { timeout: 10_000 }).toEqual(locked);
    await expect
      .poll(async () => {
        await page.getByRole("button", { name: "Refresh" }).click();
        await page.getByRole("status").getByText("Deliveries refreshed.").waitFor();
        return cells(page, "Actions targets", "console-hook");
      })
      .toEqual([receiver.url, "0", "0", "", "", ""]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

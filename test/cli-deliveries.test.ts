/**
 * The CLI's `deliveries` commands as an administrator runs them: the real CLI process against a
 * real server whose Actions target's receiver answers 500 (so deliveries are parked) until it
 * answers 200, beside a poll stream whose SETs wait in its queue; each listing checked against
 * the API, each retry against what the receiver got.
 */
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DeliveryService } from "../gen/zus/delivery/v1/delivery_service_pb.js";
import { transport, userClient } from "./support/clients.js";
import { addHuman, addMachine, addOrg, cli } from "./support/fixtures.js";
import { ActionsReceiver } from "./support/actions-receiver.js";
import { acceptedLocks, PARKING_ENV, refusingLockTarget, untilParked } from "./support/parking.js";
import { freePort, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
const receiver = new ActionsReceiver();
let destination: string;
/** A poll stream of the admin's, sent account-disabled: its id and its receiver (the admin). */
let stream: { id: string; aud: string };

beforeAll(async () => {
  await receiver.start();
  server = await startServer({ env: PARKING_ENV });
  const created = await fetch(`${server.baseUrl}/ssf/streams`, {
    method: "POST",
    headers: { authorization: `Bearer ${server.adminToken}` },
    body: JSON.stringify({ delivery: { method: "urn:ietf:rfc:8936" }, events_requested: ["https://schemas.openid.net/secevent/risc/event-type/account-disabled"] }),
  });
  const { stream_id, aud } = (await created.json()) as { stream_id: string; aud: string };
  stream = { id: stream_id, aud };
  destination = `target:${(await refusingLockTarget(server, receiver, "cli-hook")).id}`;
});
afterAll(async () => {
  await server?.stop();
  await receiver.stop();
});

/** The CLI against the test server, with the token the server wrote on its first start. */
const run = (...args: string[]) => cli(server, ...args, "--server", server.baseUrl);
const lines = (text: string) => text.split("\n").slice(0, -1);
const deliveries = () => createClient(DeliveryService, transport("connect-json", server.baseUrl, server.adminToken));

async function lockedUser(): Promise<string> {
  const users = userClient("connect-json", server.baseUrl, server.adminToken);
  const userId = await addHuman(users);
  await users.lockUser({ userId });
  return userId;
}

describe("deliveries", () => {
  // Six CLI processes, two parkings and two retries: ~10 s alone, over 30 s beside a busy machine's other work.
  it("lists the destinations and the parked deliveries, and retries them by id and by destination", { timeout: 90_000 }, async () => {
    expect(await run("deliveries")).toEqual({ code: 0, stdout: "", stderr: "no deliveries waiting or parked\n" });
    const [first, second] = [await lockedUser(), await lockedUser()];
    await untilParked(server, destination, 2);

    // The stream's two SETs left the outbox for its poll queue; it is listed for them.
    await expect.poll(async () => lines((await run("deliveries")).stdout)).toEqual([
      `stream:${stream.id}  stream receiver=${stream.aud} poll queued=2 refused=0  waiting=0 parked=0`,
      `${destination}  target "cli-hook"  waiting=0 parked=2  last-error="the target answered 500"`,
    ]);
    const parked = (await deliveries().listParkedDeliveries({ destination })).deliveries;
    const listed = await run("deliveries", "parked", "--destination", destination);
    expect(listed.code).toBe(0);
    expect(lines(listed.stdout)).toEqual(
      parked.map(
        (d, i) =>
          `${d.id}  ${destination}  user=${[first, second][i]} #2  attempts=1  created=${timestampDate(d.creationDate!).toISOString()}  error="the target answered 500"`,
      ),
    );
    expect((await run("deliveries", "parked")).stdout).toBe(listed.stdout);
    expect(await run("deliveries", "parked", "--destination", "stream:1")).toEqual({ code: 0, stdout: "", stderr: "no parked deliveries\n" });

    receiver.status = 200;
    // An id of no parked delivery is said, and makes the exit code 1; the others are retried.
    const byId = await run("deliveries", "retry", String(parked[0]!.id), "999999");
    expect(byId).toEqual({ code: 1, stdout: "retried 1\n", stderr: "error: 1 of the 2 ids name no parked delivery (deliveries parked lists them)\n" });
    await expect.poll(() => acceptedLocks(receiver), { timeout: 10_000 }).toEqual([first]);
    expect(await run("deliveries", "retry", "--destination", destination)).toEqual({ code: 0, stdout: "retried 1\n", stderr: "" });
    await expect.poll(() => acceptedLocks(receiver), { timeout: 10_000 }).toEqual([first, second]);
  });

  it("passes the server's refusal on in one line, exit 1", async () => {
    expect(await run("deliveries", "retry", "--destination", "nowhere")).toEqual({
      code: 1,
      stdout: "",
      stderr: "error: InvalidArgument invalid RetryParkedDeliveriesRequest.Destination: must be target:<id> or stream:<id>\n",
    });
    const owner = await addMachine(server, await addOrg(server), "ORG_OWNER");
    const refused = await cli({ env: { ...server.env, ZUS_TOKEN: owner.token } }, "deliveries", "--server", server.baseUrl);
    expect(refused).toEqual({ code: 1, stdout: "", stderr: "error: PermissionDenied AUTH-AWfge No matching permissions found\n" });
    const port = await freePort();
    const unreachable = await cli(server, "deliveries", "parked", "--server", `http://127.0.0.1:${port}`);
    expect(unreachable).toMatchObject({ code: 1, stderr: `error: cannot reach the server at http://127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port}\n` });
  });

  // Refused before any call to the server: their processes run at once.
  it.concurrent.each([
    ["retry without ids or --destination", ["deliveries", "retry"]],
    ["retry with ids and --destination", ["deliveries", "retry", "1", "--destination", "target:1"]],
    ["a delivery id that is no number", ["deliveries", "retry", "twelve"]],
    ["an empty --destination", ["deliveries", "parked", "--destination", ""]],
    ["an id for the destinations", ["deliveries", "1"]],
    ["an option deliveries does not take", ["deliveries", "--destination", "target:1"]],
  ])("%s: usage error, exit 2", async (_, args) => {
    const result = await cli(server, ...args);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^error: .+\nusage:\n/);
  });
});

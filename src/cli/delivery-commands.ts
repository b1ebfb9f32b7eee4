/**
 * `deliveries`, `deliveries parked` and `deliveries retry`: the outbox's state per destination and
 * its parked deliveries, read and retried through the server's zus.delivery.v1.DeliveryService.
 * One line per destination or delivery on stdout; errors on stderr, exit code 1.
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { Client } from "@connectrpc/connect";
import type { DeliveryService, Destination, ParkedDelivery, Stream } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { POLL, PUSH } from "../domain/ssf/event-types.js";
import { errorLine } from "./api-client.js";
import type { DeliveryCommand } from "./commands.js";

const print = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`${line}\n`);

/** Deliveries per ListParkedDeliveries call: a few calls for many, none of them a long one. */
const PARKED_PAGE_SIZE = 500;

const iso = (ts: Timestamp | undefined) => (ts ? timestampDate(ts).toISOString() : "?");
const METHODS: Record<string, string> = { [PUSH]: "push", [POLL]: "poll" };

export async function runDeliveryCommand(client: Client<typeof DeliveryService>, command: DeliveryCommand): Promise<number> {
  try {
    switch (command.kind) {
      case "destinations": {
        const { destinations } = await client.listDestinations({});
        if (destinations.length === 0) warn("no deliveries waiting or parked");
        for (const destination of destinations) print(destinationLine(destination));
        return 0;
      }
      case "parked":
        return await listParked(client, command.destination);
      case "retry":
        return await retry(client, command);
    }
  } catch (err) {
    warn(`error: ${errorLine(err, command.server)}`);
    return 1;
  }
}

/**
 * `DESTINATION  WHAT  waiting=N parked=N`, then the oldest waiting one's time and the last error
 * where there are any. WHAT is `target "NAME"`, `stream receiver=ID push`, `stream receiver=ID
 * poll queued=N refused=N` (its poll queue), or `gone` for a destination that no longer exists.
 * The error is quoted as JSON, so it stays on its line.
 */
function destinationLine(destination: Destination): string {
  const { receiver } = destination;
  const what =
    receiver.case === "target"
      ? `target ${JSON.stringify(receiver.value.name)}`
      : receiver.case === "stream"
        ? streamWhat(receiver.value)
        : "gone";
  const fields = [destination.destination, what, `waiting=${destination.waiting} parked=${destination.parked}`];
  if (destination.oldestWaitingDate) fields.push(`oldest=${iso(destination.oldestWaitingDate)}`);
  if (destination.lastError) fields.push(`last-error=${JSON.stringify(destination.lastError)}`);
  return fields.join("  ");
}

function streamWhat(stream: Stream): string {
  const what = `stream receiver=${stream.receiverId} ${METHODS[stream.deliveryMethod] ?? stream.deliveryMethod}`;
  return stream.deliveryMethod === POLL ? `${what} queued=${stream.queued} refused=${stream.refused}` : what;
}

/** `ID  DESTINATION  user=ID #SEQUENCE  attempts=N  created=TIME  error="..."`. */
function parkedLine(delivery: ParkedDelivery): string {
  return [
    String(delivery.id),
    delivery.destination,
    `user=${delivery.userId} #${delivery.sequence}`,
    `attempts=${delivery.attempts}`,
    `created=${iso(delivery.creationDate)}`,
    `error=${JSON.stringify(delivery.lastError)}`,
  ].join("  ");
}

/** Every page, oldest first. */
async function listParked(client: Client<typeof DeliveryService>, destination: string): Promise<number> {
  let pageToken = "";
  let none = true;
  do {
    const page = await client.listParkedDeliveries({ destination, pageSize: PARKED_PAGE_SIZE, pageToken });
    for (const delivery of page.deliveries) print(parkedLine(delivery));
    none &&= page.deliveries.length === 0;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (none) warn("no parked deliveries");
  return 0;
}

/** `retried N`; exit code 1 when ids were given and some of them named no parked delivery. */
async function retry(client: Client<typeof DeliveryService>, command: Extract<DeliveryCommand, { kind: "retry" }>): Promise<number> {
  const ids = [...new Set(command.ids)];
  const { retried } = await client.retryParkedDeliveries({ ids, destination: command.destination });
  print(`retried ${retried}`);
  const missed = command.destination === "" ? ids.length - Number(retried) : 0;
  if (missed === 0) return 0;
  warn(`error: ${missed} of the ${ids.length} ids name no parked delivery (deliveries parked lists them)`);
  return 1;
}

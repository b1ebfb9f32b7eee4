/** zus.delivery.v1.DeliveryService (EXTENSIONS.md §2): check and convert the request, call the app, convert the answer. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { DeliveryService, type DestinationSchema } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import type { DeliveryAdmin, DestinationView, Receiver } from "../app/delivery-admin.js";
import { parseDestination } from "../domain/destinations.js";
import { invalidArgument } from "../domain/errors.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";

const DEFAULT_PAGE_SIZE = 100;
const MAX_PAGE_SIZE = 1000;
/** Ids of one retry: each is a bound SQL parameter. */
const MAX_RETRY_IDS = 1000;
/** The outbox numbers deliveries with PostgreSQL's 32-bit serial: a larger id names none. */
const MAX_DELIVERY_ID = 2 ** 31 - 1;
/** A page token names the id the next page starts after; opaque to clients. */
const TOKEN = /^after:([1-9][0-9]{0,9})$/;

export function deliveryService(admin: DeliveryAdmin): ServiceImpl<typeof DeliveryService> {
  return {
    async listDestinations(_req, ctx) {
      return { destinations: (await admin.destinations(callerOf(ctx))).map(toProtoDestination) };
    },

    async listParkedDeliveries(req, ctx) {
      const message = "ListParkedDeliveriesRequest";
      const destination = req.destination === "" ? undefined : requireDestination(req.destination, message);
      if (req.pageSize > MAX_PAGE_SIZE) throw invalidArgument(`invalid ${message}.PageSize: value must be less than or equal to ${MAX_PAGE_SIZE}`);
      const limit = req.pageSize || DEFAULT_PAGE_SIZE;
      // One more than the page: whether there is a next page is known without another read.
      const found = await admin.parked(callerOf(ctx), limit + 1, { destination, afterId: readPageToken(req.pageToken) });
      const page = found.slice(0, limit);
      return {
        deliveries: page.map((delivery) => ({
          id: BigInt(delivery.id),
          destination: delivery.destination,
          userId: delivery.userId,
          sequence: BigInt(delivery.sequence),
          attempts: delivery.attempts,
          lastError: delivery.lastError,
          creationDate: timestampFromDate(delivery.createdAt),
        })),
        nextPageToken: found.length > limit ? pageToken(page.at(-1)!.id) : "",
      };
    },

    async retryParkedDeliveries(req, ctx) {
      const message = "RetryParkedDeliveriesRequest";
      if (req.ids.length === 0 && req.destination === "") throw invalidArgument(`invalid ${message}: ids or destination is required`);
      if (req.ids.length > 0 && req.destination !== "") throw invalidArgument(`invalid ${message}: give ids or destination, not both`);
      if (req.ids.length > MAX_RETRY_IDS) throw invalidArgument(`invalid ${message}.Ids: value must contain no more than ${MAX_RETRY_IDS} item(s)`);
      const selection =
        req.destination === ""
          ? { ids: req.ids.filter((id) => id <= MAX_DELIVERY_ID).map(Number) }
          : { destination: requireDestination(req.destination, message) };
      return { retried: BigInt(await admin.retry(callerOf(ctx), selection)) };
    },
  };
}

function requireDestination(destination: string, message: string): string {
  requireLength(destination, message, "Destination", 1, 400);
  if (!parseDestination(destination)) throw invalidArgument(`invalid ${message}.Destination: must be target:<id> or stream:<id>`);
  return destination;
}

function toProtoDestination(view: DestinationView): MessageInitShape<typeof DestinationSchema> {
  return {
    destination: view.destination,
    receiver: toProtoReceiver(view.receiver),
    waiting: BigInt(view.waiting),
    parked: BigInt(view.parked),
    oldestWaitingDate: view.oldestWaitingAt && timestampFromDate(view.oldestWaitingAt),
    lastError: view.lastError ?? "",
  };
}

function toProtoReceiver(receiver: Receiver | undefined): MessageInitShape<typeof DestinationSchema>["receiver"] {
  switch (receiver?.kind) {
    case "target":
      return { case: "target", value: receiver };
    case "stream":
      return { case: "stream", value: { ...receiver, queued: BigInt(receiver.queued), refused: BigInt(receiver.refused) } };
    case undefined:
      return undefined;
  }
}

const pageToken = (afterId: number) => Buffer.from(`after:${afterId}`).toString("base64url");

function readPageToken(token: string): number | undefined {
  if (token === "") return undefined;
  const after = TOKEN.exec(Buffer.from(token, "base64url").toString("latin1"))?.[1];
  if (after === undefined) throw invalidArgument("invalid ListParkedDeliveriesRequest.PageToken: not a page token this server gave");
  // Every id the outbox has is below the largest: a page after it is empty.
  return Math.min(Number(after), MAX_DELIVERY_ID);
}

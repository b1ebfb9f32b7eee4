/** grpc.health.v1.Health: SERVING while the database answers and no shutdown has begun. */
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { setTimeout as sleep } from "node:timers/promises";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import type { Readiness } from "../app/readiness.js";

const WATCH_INTERVAL_MS = 1000;
/**
 * An unknown name is echoed in the error's grpc-message, a header or trailer: cut, so that a name
 * of 64 KiB cannot make the answer's header block larger than HTTP/2 lets it be sent.
 */
const MAX_ECHOED_NAME = 200;

export function healthService(readiness: Readiness, serviceNames: string[]): ServiceImpl<typeof Health> {
  const known = new Set(["", ...serviceNames]);
  const status = async (service: string) => {
    if (!known.has(service)) throw new ConnectError(`unknown service ${service.slice(0, MAX_ECHOED_NAME)}`, Code.NotFound);
    return (await readiness.isReady()) ? Status.SERVING : Status.NOT_SERVING;
  };
  return {
    async check(req) {
      return { status: await status(req.service) };
    },
    /** Sends the status now and again on every change, until the client leaves or the server stops. */
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return;
      }
      let last: Status | undefined;
      for (;;) {
        // Shutdown turns readiness off before it aborts the signal, so watchers hear NOT_SERVING last.
        const current = await status(req.service);
        if (current !== last) yield { status: current };
        last = current;
        if (ctx.signal.aborted) return;
        await sleep(WATCH_INTERVAL_MS, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
    },
  };
}

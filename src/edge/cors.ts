/** CORS for browser clients of Connect, gRPC-Web and REST on other origins. */
import type http from "node:http";
import type http2 from "node:http2";
import { cors as connectCors } from "@connectrpc/connect";

const ALLOWED_METHODS = [...new Set([...connectCors.allowedMethods, "GET", "POST", "DELETE", "OPTIONS"])].join(", ");
const ALLOWED_HEADERS = [...connectCors.allowedHeaders, "Authorization", "X-Request-Id"].join(", ");
const EXPOSED_HEADERS = [...connectCors.exposedHeaders, "X-Request-Id"].join(", ");
const PREFLIGHT_MAX_AGE_SECONDS = "7200";

export type CorsOutcome = "continue" | "answered";

/**
 * Requests without an Origin header, and those from the server's own origin (the admin
 * console's scripts and gRPC-Web calls: browsers send Origin on those too), pass untouched.
 * A listed origin gets the CORS headers (and its preflight an empty 204); any other origin is
 * refused with 403 before the call runs, so a page on a foreign origin cannot cause a change
 * it is not allowed to read.
 */
export function applyCors(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  allowedOrigins: ReadonlySet<string>,
): CorsOutcome {
  const origin = req.headers.origin;
  if (origin === undefined || origin === ownOrigin(req)) return "continue";
  const preflight = req.method === "OPTIONS" && req.headers["access-control-request-method"] !== undefined;
  if (!allowedOrigins.has(origin)) {
    res.writeHead(403, { "content-type": "text/plain" });
    res.end("origin not allowed\n");
    return "answered";
  }
  res.setHeader("access-control-allow-origin", origin);
  res.setHeader("vary", "Origin");
  if (!preflight) {
    res.setHeader("access-control-expose-headers", EXPOSED_HEADERS);
    return "continue";
  }
  res.writeHead(204, {
    "access-control-allow-methods": ALLOWED_METHODS,
    "access-control-allow-headers": ALLOWED_HEADERS,
    "access-control-max-age": PREFLIGHT_MAX_AGE_SECONDS,
  });
  res.end();
  return "answered";
}

/** The origin the request was sent to, as a browser writes it: scheme and host (with port). */
function ownOrigin(req: http.IncomingMessage | http2.Http2ServerRequest): string | undefined {
  const host = req.headers.host ?? req.headers[":authority"];
  if (typeof host !== "string") return undefined;
  return `${(req.socket as { encrypted?: boolean }).encrypted ? "https" : "http"}://${host}`;
}

/** Plain HTTP endpoints for load balancers and Prometheus; no token needed. */
import type http from "node:http";
import type http2 from "node:http2";
import type { Metrics } from "../observability/metrics.js";
import type { Readiness } from "../app/readiness.js";

type Answer = (status: number, contentType: string, body: string) => void;

/** Answers /healthz, /readyz and /metrics; returns false for any other path. */
export function serveProbe(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  path: string,
  readiness: Readiness,
  metrics: Metrics,
): boolean {
  if (path !== "/healthz" && path !== "/readyz" && path !== "/metrics") return false;
  const answer: Answer = (status, contentType, body) => {
    res.writeHead(status, { "content-type": contentType, "cache-control": "no-store" });
    if (req.method === "HEAD") res.end();
    else res.end(body);
  };
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.setHeader("allow", "GET, HEAD");
    answer(405, "text/plain", "method not allowed\n");
  } else if (path === "/healthz") {
    answer(200, "text/plain", "ok\n");
  } else if (path === "/readyz") {
    void readiness.notReadyBecause().then((reason) => answer(reason ? 503 : 200, "text/plain", reason ? `not ready: ${reason}\n` : "ready\n"));
  } else {
    void metrics.scrape().then(
      (text) => answer(200, metrics.registry.contentType, text),
      () => answer(503, "text/plain", "metrics unavailable\n"),
    );
  }
  return true;
}

/**
 * The admin console (console/, built by `npm run build` into dist/console) under /console/.
 * Only the files the bundle held when first asked for are served, looked up by exact name, so
 * no request path can reach a file outside it. index.html is revalidated on every load; the
 * assets it names carry a content hash in their names and are cached for good.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import type http from "node:http";
import type http2 from "node:http2";
import { dirname, extname, join, sep } from "node:path";

const PREFIX = "/console/";

const CONTENT_TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
};

const IMMUTABLE = "public, max-age=31536000, immutable";
const REVALIDATE = "no-cache";
// The page calls the API on its own origin only; forms are handled by script, never submitted.
const CONTENT_SECURITY_POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface BundleFile {
  body: Buffer;
  headers: Record<string, string>;
}

let bundle: Map<string, BundleFile> | undefined;

/** Answers /console and everything under /console/; returns false for any other path. */
export function serveConsole(
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
  path: string,
): boolean {
  if (path !== "/console" && !path.startsWith(PREFIX)) return false;
  res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
  if (req.method !== "GET" && req.method !== "HEAD") {
    res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
    res.end("method not allowed\n");
    return true;
  }
  if (path === "/console") {
    const query = req.url?.slice(path.length) ?? "";
    res.writeHead(301, { location: PREFIX + query });
    res.end();
    return true;
  }
  bundle ??= loadBundle(bundleDir());
  const file = bundle.get(path.slice(PREFIX.length) || "index.html");
  if (!file) {
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found\n");
  } else if (req.headers["if-none-match"] === file.headers.etag) {
    res.writeHead(304, { etag: file.headers.etag!, "cache-control": file.headers["cache-control"]! });
    res.end();
  } else {
    res.writeHead(200, file.headers);
    if (req.method === "HEAD") res.end();
    else res.end(file.body);
  }
  return true;
}

/** dist/console under the project root, which is the nearest folder up with a package.json (this file runs from src/edge under tsx, from dist/src/edge once built). */
function bundleDir(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, "package.json")) && dirname(dir) !== dir) dir = dirname(dir);
  return join(dir, "dist", "console");
}

/** Every file of the bundle by its path relative to it, with its answer's headers; empty when the console was not built. */
function loadBundle(root: string): Map<string, BundleFile> {
  const files = new Map<string, BundleFile>();
  if (!existsSync(root)) return files;
  for (const name of readdirSync(root, { recursive: true, encoding: "utf8" })) {
    const file = join(root, name);
    if (!statSync(file).isFile()) continue;
    const body = readFileSync(file);
    const path = name.split(sep).join("/");
    files.set(path, {
      body,
      headers: {
        "content-type": CONTENT_TYPES[extname(name)] ?? "application/octet-stream",
        "content-length": String(body.length),
        "cache-control": path.startsWith("assets/") ? IMMUTABLE : REVALIDATE,
        etag: `"${createHash("sha256").update(body).digest("base64url")}"`,
      },
    });
  }
  return files;
}

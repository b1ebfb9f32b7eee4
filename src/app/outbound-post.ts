/**
 * One POST to a receiver's endpoint (an Actions v2 target, an SSF push stream), once the URL has
 * passed the allow-list (security/outbound-urls.ts). Redirects are not followed: they could lead
 * past the allow-list. Names allowed by the default rule are resolved through the guarded lookup,
 * so that they cannot reach loopback or private addresses either.
 */
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { guardedLookup } from "../security/outbound-urls.js";

/** Of an answer's body, only this much is read (an SSF error object is short). */
const MAX_ANSWER_BYTES = 4096;

export interface PostOptions {
  headers: Record<string, string>;
  /** The request fails when it has taken this long, counted from its start. */
  timeoutMs: number;
  /** Resolve names through the guarded lookup (the URL passed by the default rule, not by a listed prefix). */
  guarded: boolean;
}

/** The status and the start of the answer's body. */
export interface PostAnswer {
  status: number;
  body: string;
}

export function post(url: URL, body: string, options: PostOptions): Promise<PostAnswer> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method: "POST",
      headers: { ...options.headers, "content-length": Buffer.byteLength(body) },
      signal: AbortSignal.timeout(options.timeoutMs),
      ...(options.guarded ? { lookup: guardedLookup() } : {}),
    });
    req.once("error", (err) => reject(err.name === "AbortError" ? new Error(`no answer within ${options.timeoutMs} ms`) : err));
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_ANSWER_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      res.once("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString("utf8") }));
      res.once("error", reject);
    });
    req.end(body);
  });
}

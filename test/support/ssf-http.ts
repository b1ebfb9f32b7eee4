/** Calls to the transmitter's HTTP endpoints, as a receiver makes them (fetch, JSON). */
import type { TestServer } from "./server.js";

export interface SsfAnswer {
  status: number;
  headers: Headers;
  /** The body as JSON; undefined for an empty body. */
  json: any;
  text: string;
}

export interface SsfCall {
  token?: string;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as it is (for bodies that are not JSON). */
  raw?: string;
}

export async function ssfCall(server: Pick<TestServer, "baseUrl">, method: string, path: string, call: SsfCall = {}): Promise<SsfAnswer> {
  const headers: Record<string, string> = {};
  if (call.token) headers.authorization = `Bearer ${call.token}`;
  const body = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body));
  if (body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.baseUrl}${path}`, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined, text };
}

export const PUSH = "urn:ietf:rfc:8935";
export const POLL = "urn:ietf:rfc:8936";
export const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
export const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
export const EVENTS_SUPPORTED = [`${RISC}account-disabled`, `${RISC}account-enabled`, `${RISC}account-purged`, `${CAEP}session-revoked`, `${CAEP}credential-change`];

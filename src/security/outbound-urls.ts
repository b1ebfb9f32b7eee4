/**
 * Where this server may send requests (Actions v2 targets, and later other receivers): the
 * OUTBOUND_URL_ALLOW setting. By default only https:// URLs whose host is not a loopback,
 * private, shared, link-local, multicast, reserved or unspecified address; each entry of the
 * setting (a URL prefix such as http://127.0.0.1) allows what it covers besides.
 *
 * Two halves, because a host name's addresses are only known when it is resolved:
 * `checkOutboundUrl` judges the URL as written (its scheme, and its host when that is an IP
 * address or a name that always means this machine), when a target is saved and again before
 * every send; `guardedLookup` judges the addresses a name resolves to, at every connection,
 * so a name that later resolves to 10.0.0.1 (DNS rebinding) is refused then. A URL allowed
 * by an entry of the setting is the operator's choice and is not judged further.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions } from "node:dns";
import { BlockList, isIP, type LookupFunction } from "node:net";

export interface OutboundPolicy {
  /** The entries of OUTBOUND_URL_ALLOW, parsed. */
  readonly prefixes: readonly URL[];
}

export type OutboundVerdict =
  | { allowed: true; url: URL; /** Allowed by an entry of the setting, not by the default rule. */ byPrefix: boolean }
  | { allowed: false; reason: string };

type Kind = "loopback" | "private" | "shared" | "link-local" | "multicast" | "reserved" | "unspecified";

const IPV4_RANGES: [string, number, Kind][] = [
  ["0.0.0.0", 8, "unspecified"],
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "shared"],
  ["127.0.0.0", 8, "loopback"],
  ["169.254.0.0", 16, "link-local"],
  ["172.16.0.0", 12, "private"],
  ["192.168.0.0", 16, "private"],
  ["224.0.0.0", 4, "multicast"],
  ["240.0.0.0", 4, "reserved"],
];

const IPV6_RANGES: [string, number, Kind][] = [
  ["::", 128, "unspecified"],
  ["::1", 128, "loopback"],
  ["fc00::", 7, "private"],
  ["fec0::", 10, "private"],
  ["fe80::", 10, "link-local"],
  ["ff00::", 8, "multicast"],
];

/**
 * One block list per kind, to name the kind in the refusal. IPv4-mapped IPv6 addresses
 * (::ffff:10.0.0.1) are matched by the IPv4 rules (BlockList does that); NAT64 addresses
 * (64:ff9b::10.0.0.1) reach the IPv4 address they embed, so each IPv4 range is blocked there too.
 */
const BLOCKED = new Map<Kind, BlockList>();
for (const [address, bits, kind] of IPV4_RANGES) {
  const list = blockListOf(kind);
  list.addSubnet(address, bits, "ipv4");
  list.addSubnet(`64:ff9b::${address}`, 96 + bits, "ipv6");
}
for (const [address, bits, kind] of IPV6_RANGES) blockListOf(kind).addSubnet(address, bits, "ipv6");

function blockListOf(kind: Kind): BlockList {
  let list = BLOCKED.get(kind);
  if (!list) BLOCKED.set(kind, (list = new BlockList()));
  return list;
}

/** Why an IP address may not be sent to by default, or undefined for a public unicast address. */
export function forbiddenAddress(address: string): string | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  for (const [kind, list] of BLOCKED) {
    if (list.check(address, family === 4 ? "ipv4" : "ipv6")) return `${address} is ${kind === "unspecified" ? "an" : "a"} ${kind} address`;
  }
  return undefined;
}

/** Reads OUTBOUND_URL_ALLOW: comma-separated http(s) URL prefixes; empty or unset allows nothing more. */
export function parseOutboundAllow(raw: string | undefined): OutboundPolicy {
  const prefixes = (raw ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean)
    .map((entry) => {
      const url = URL.canParse(entry) ? new URL(entry) : undefined;
      if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.search || url.hash) {
        throw new Error(`OUTBOUND_URL_ALLOW: "${entry}" is not an http:// or https:// URL prefix (no user, query or fragment)`);
      }
      return url;
    });
  return { prefixes };
}

/**
 * Whether `prefix` covers `url`: same scheme and host; the same port if the prefix names one
 * (else any port: http://127.0.0.1 covers every local port); and the URL's path at or below the
 * prefix's path, segment by segment (/hooks covers /hooks and /hooks/a, not /hooksx).
 */
function covers(prefix: URL, url: URL): boolean {
  if (prefix.protocol !== url.protocol || prefix.hostname !== url.hostname) return false;
  if (prefix.port !== "" && prefix.port !== url.port) return false;
  const base = prefix.pathname.endsWith("/") ? prefix.pathname : `${prefix.pathname}/`;
  return url.pathname === prefix.pathname || url.pathname.startsWith(base);
}

/** A name that always means this machine (RFC 6761): never resolved, always refused by default. */
const isLocalhostName = (host: string) => /(^|\.)localhost$/.test(host.replace(/\.$/, ""));

/** Judges a URL as written; see the module comment for what is left to `guardedLookup`. */
export function checkOutboundUrl(raw: string, policy: OutboundPolicy): OutboundVerdict {
  const url = URL.canParse(raw) ? new URL(raw) : undefined;
  if (!url || (url.protocol !== "https:" && url.protocol !== "http:") || url.hostname === "") {
    return { allowed: false, reason: "not an absolute http:// or https:// URL" };
  }
  if (policy.prefixes.some((prefix) => covers(prefix, url))) return { allowed: true, url, byPrefix: true };
  if (url.protocol !== "https:") return { allowed: false, reason: "only https:// URLs are allowed (see OUTBOUND_URL_ALLOW)" };
  // The URL parser has already turned every IPv4 spelling (2130706433, 0x7f.1) into dotted form.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const forbidden = isLocalhostName(host) ? `${host} is a loopback name` : forbiddenAddress(host);
  if (forbidden) return { allowed: false, reason: `${forbidden}, not allowed (see OUTBOUND_URL_ALLOW)` };
  return { allowed: true, url, byPrefix: false };
}

type Resolve = (hostname: string, options: LookupAllOptions, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) => void;

/**
 * A `lookup` for Node's http(s) requests to a URL the default rule allowed: resolves the name,
 * and fails the connection (code EOUTBOUNDFORBIDDEN) when any address it resolves to is one
 * `forbiddenAddress` refuses, so a name cannot lead to an address its URL could not name.
 */
export function guardedLookup(resolve: Resolve = dnsLookup): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      const reply = callback as (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;
      if (err) return reply(err, "");
      const forbidden = addresses.map((found) => forbiddenAddress(found.address)).find(Boolean);
      if (forbidden || addresses.length === 0) {
        const refusal: NodeJS.ErrnoException = new Error(`${hostname}: ${forbidden ?? "no address"}, not allowed (see OUTBOUND_URL_ALLOW)`);
        refusal.code = "EOUTBOUNDFORBIDDEN";
        return reply(refusal, "");
      }
      if (options.all) return reply(null, addresses);
      reply(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

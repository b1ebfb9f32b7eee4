/** The outbound URL allow-list (security/outbound-urls.ts): the default rule, the setting's prefixes, and the connect-time lookup. */
import type { LookupAddress } from "node:dns";
import { describe, expect, it } from "vitest";
import { checkOutboundUrl, forbiddenAddress, guardedLookup, parseOutboundAllow } from "../src/security/outbound-urls.js";

const DEFAULT = parseOutboundAllow(undefined);
const reasonOf = (url: string, policy = DEFAULT) => {
  const verdict = checkOutboundUrl(url, policy);
  return verdict.allowed ? undefined : verdict.reason;
};

describe("the default rule", () => {
  it.each([
    "https://hooks.example.com/zitadel",
    "https://hooks.example.com:8443/a?b=c",
    "https://93.184.215.14/",
    "https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/",
    // Only the host decides: a public name that merely starts like a private address.
    "https://10.0.0.1.example.com/",
  ])("allows %s", (url) => {
    expect(checkOutboundUrl(url, DEFAULT)).toMatchObject({ allowed: true, byPrefix: false });
  });

  it.each([
    ["http://hooks.example.com/", "only https:// URLs are allowed"],
    ["ftp://hooks.example.com/", "not an absolute http:// or https:// URL"],
    ["hooks.example.com/x", "not an absolute http:// or https:// URL"],
    ["", "not an absolute http:// or https:// URL"],
    ["https://127.0.0.1/", "127.0.0.1 is a loopback address"],
    ["https://127.9.9.9:8080/", "127.9.9.9 is a loopback address"],
    // Other spellings of 127.0.0.1, which the URL parser normalizes.
    ["https://2130706433/", "127.0.0.1 is a loopback address"],
    ["https://0x7f.1/", "127.0.0.1 is a loopback address"],
    ["https://localhost:3000/", "localhost is a loopback name"],
    ["https://api.localhost./", "api.localhost. is a loopback name"],
    ["https://[::1]/", "::1 is a loopback address"],
    ["https://[::ffff:127.0.0.1]/", "::ffff:7f00:1 is a loopback address"],
    ["https://10.1.2.3/", "10.1.2.3 is a private address"],
    ["https://172.16.0.1/", "172.16.0.1 is a private address"],
    ["https://172.31.255.255/", "172.31.255.255 is a private address"],
    ["https://192.168.1.1/", "192.168.1.1 is a private address"],
    ["https://[fc00::1]/", "fc00::1 is a private address"],
    ["https://[fd12:3456::1]/", "fd12:3456::1 is a private address"],
    ["https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"],
    ["https://[fe80::1]/", "fe80::1 is a link-local address"],
    ["https://0.0.0.0/", "0.0.0.0 is an unspecified address"],
    ["https://[::]/", ":: is an unspecified address"],
    ["https://100.64.0.1/", "100.64.0.1 is a shared address"],
    ["https://[64:ff9b::a00:1]/", "64:ff9b::a00:1 is a private address"],
    ["https://224.0.0.1/", "224.0.0.1 is a multicast address"],
    ["https://255.255.255.255/", "255.255.255.255 is a reserved address"],
  ])("refuses %s", (url, reason) => {
    expect(reasonOf(url)).toContain(reason);
  });

  it("leaves 172.15.x and 172.32.x (outside 172.16.0.0/12) and 100.128.x (outside 100.64.0.0/10) allowed", () => {
    for (const url of ["https://172.15.255.255/", "https://172.32.0.1/", "https://100.128.0.1/"]) expect(reasonOf(url), url).toBeUndefined();
  });
});

describe("OUTBOUND_URL_ALLOW", () => {
  const policy = parseOutboundAllow(" http://127.0.0.1 , https://10.0.0.5:8443/hooks ");

  it("allows, besides the default, what a prefix covers: any port when it names none", () => {
    expect(checkOutboundUrl("http://127.0.0.1:41234/receiver", policy)).toMatchObject({ allowed: true, byPrefix: true });
    expect(checkOutboundUrl("http://127.0.0.1/", policy)).toMatchObject({ allowed: true, byPrefix: true });
    expect(checkOutboundUrl("https://10.0.0.5:8443/hooks", policy)).toMatchObject({ allowed: true, byPrefix: true });
    expect(checkOutboundUrl("https://10.0.0.5:8443/hooks/zitadel", policy)).toMatchObject({ allowed: true, byPrefix: true });
    expect(checkOutboundUrl("https://hooks.example.com/", policy)).toMatchObject({ allowed: true, byPrefix: false });
  });

  it("covers by scheme, host, port and whole path segments, not by the text's beginning", () => {
    // The text starts like the prefix, the host does not.
    expect(reasonOf("http://127.0.0.1.evil.example/", policy)).toContain("only https:// URLs");
    expect(reasonOf("http://127.0.0.1@evil.example/", policy)).toContain("only https:// URLs");
    expect(reasonOf("https://127.0.0.1:41234/", policy)).toContain("loopback");
    expect(reasonOf("http://127.0.0.2/", policy)).toContain("only https:// URLs");
    expect(reasonOf("https://10.0.0.5:9443/hooks", policy)).toContain("private");
    expect(reasonOf("https://10.0.0.5:8443/hooksx", policy)).toContain("private");
    expect(reasonOf("https://10.0.0.5:8443/", policy)).toContain("private");
  });

  it("refuses an entry that is not an http(s) URL prefix, naming it", () => {
    expect(() => parseOutboundAllow("http://127.0.0.1,127.0.0.1")).toThrow('"127.0.0.1"');
    expect(() => parseOutboundAllow("ftp://files")).toThrow('"ftp://files"');
    expect(() => parseOutboundAllow("https://a.example/?x=1")).toThrow("no user, query or fragment");
    expect(parseOutboundAllow("").prefixes).toEqual([]);
  });
});

describe("forbiddenAddress", () => {
  it("names the kind of an address that is not public unicast, and passes the others", () => {
    expect(forbiddenAddress("10.0.0.1")).toBe("10.0.0.1 is a private address");
    expect(forbiddenAddress("::ffff:192.168.0.1")).toBe("::ffff:192.168.0.1 is a private address");
    expect(forbiddenAddress("8.8.8.8")).toBeUndefined();
    expect(forbiddenAddress("2001:4860:4860::8888")).toBeUndefined();
  });
});

describe("guardedLookup", () => {
  const resolver = (answers: Record<string, LookupAddress[]>) => (host: string, _options: unknown, callback: (err: NodeJS.ErrnoException | null, addresses: LookupAddress[]) => void) =>
    callback(null, answers[host] ?? []);
  const lookupOf = guardedLookup(
    resolver({
      "public.example": [{ address: "93.184.215.14", family: 4 }],
      "rebound.example": [{ address: "10.0.0.7", family: 4 }],
      "mixed.example": [
        { address: "93.184.215.14", family: 4 },
        { address: "::1", family: 6 },
      ],
    }),
  );
  const look = (host: string, all: boolean) =>
    new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) =>
      lookupOf(host, { all } as never, ((err: NodeJS.ErrnoException | null, address: unknown, family?: number) => resolve({ err, address, family })) as never),
    );

  it("answers a name's public addresses, in either shape Node asks for", async () => {
    expect(await look("public.example", false)).toEqual({ err: null, address: "93.184.215.14", family: 4 });
    expect(await look("public.example", true)).toMatchObject({ err: null, address: [{ address: "93.184.215.14", family: 4 }] });
  });

  it("fails the connection when a name resolves to any address the default rule refuses, or to none", async () => {
    const rebound = await look("rebound.example", false);
    expect(rebound.err?.code).toBe("EOUTBOUNDFORBIDDEN");
    expect(rebound.err?.message).toBe("rebound.example: 10.0.0.7 is a private address, not allowed (see OUTBOUND_URL_ALLOW)");
    expect((await look("mixed.example", true)).err?.message).toContain("::1 is a loopback address");
    expect((await look("nowhere.example", true)).err?.message).toContain("no address");
  });
});

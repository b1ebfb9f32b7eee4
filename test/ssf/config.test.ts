/** The transmitter's settings from the environment (config.ts; docs/operations.md). */
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config.js";

describe("SSF_ISSUER", () => {
  it("defaults to this server's own base URL", () => {
    expect(loadConfig({}).ssf.issuer).toBe("http://localhost:8080");
    expect(loadConfig({ PORT: "9443", TLS_CERT_FILE: "package.json", TLS_KEY_FILE: "package.json" }).ssf.issuer).toBe("https://localhost:9443");
  });

  it("is kept as given, without a trailing slash", () => {
    expect(loadConfig({ SSF_ISSUER: "https://idp.example.com/" }).ssf.issuer).toBe("https://idp.example.com");
    expect(loadConfig({ SSF_ISSUER: "https://idp.example.com/tenant-a/" }).ssf.issuer).toBe("https://idp.example.com/tenant-a");
  });

  it.each(["idp.example.com", "ftp://idp.example.com", "https://idp.example.com/?a=1", "https://idp.example.com/#x", "https://user:pw@idp.example.com"])(
    "refuses %s",
    (issuer) => {
      expect(() => loadConfig({ SSF_ISSUER: issuer })).toThrow(/^SSF_ISSUER must be an https:\/\/ \(or http:\/\/\) URL without query or fragment/);
    },
  );
});

describe("the other settings", () => {
  it("default: ALL subjects, a verification every 10 s, long polls of 20 s", () => {
    expect(loadConfig({}).ssf).toMatchObject({ defaultSubjects: "ALL", minVerificationIntervalS: 10, longPollMs: 20_000 });
  });

  it("are read, and refused when malformed", () => {
    expect(loadConfig({ SSF_DEFAULT_SUBJECTS: "NONE", SSF_MIN_VERIFICATION_INTERVAL_S: "0", SSF_LONG_POLL_MS: "500" }).ssf).toMatchObject({
      defaultSubjects: "NONE",
      minVerificationIntervalS: 0,
      longPollMs: 500,
    });
    expect(() => loadConfig({ SSF_DEFAULT_SUBJECTS: "SOME" })).toThrow('SSF_DEFAULT_SUBJECTS must be ALL or NONE, got "SOME"');
    expect(() => loadConfig({ SSF_LONG_POLL_MS: "-1" })).toThrow("SSF_LONG_POLL_MS must be a non-negative integer");
  });
});

/**
 * The transmitter over real HTTP against a real server (EXTENSIONS.md §4): discovery and the
 * JWKS, every stream management operation of SSF §8.1, and each error status the conformance
 * plan openid-ssf-transmitter-test-plan checks (broken JSON, an unknown stream, no or a bad
 * token, a token in the query string, a read-only token writing, a second stream → 409).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalCourier } from "../../src/app/courier.js";
import { SigningKeys } from "../../src/app/ssf/signing-keys.js";
import { verificationSet } from "../../src/app/ssf/sets.js";
import { createLogger } from "../../src/observability/logger.js";
import { openStore } from "../../src/store/open.js";
import { addMachine, addOrg, cli } from "../support/fixtures.js";
import { checkSet } from "../support/set-checks.js";
import { query } from "../support/db.js";
import { startServer, type TestServer } from "../support/server.js";
import { CAEP, EVENTS_SUPPORTED, POLL, PUSH, RISC, ssfCall, type SsfCall } from "../support/ssf-http.js";

let server: TestServer;
let orgId: string;
let issuer: string;
/** A receiver of its own for each test that makes a stream: one stream per receiver. */
const receiver = () => addMachine(server, orgId, "SSF_RECEIVER");

beforeAll(async () => {
  server = await startServer();
  orgId = await addOrg(server);
  issuer = `http://localhost:${server.port}`;
});
afterAll(() => server?.stop());

const call = (method: string, path: string, options?: SsfCall) => ssfCall(server, method, path, options);

const PUSH_DELIVERY = { method: PUSH, endpoint_url: "https://receiver.example.com/events", authorization_header: "Bearer receiver-secret" };
const REQUESTED = [`${RISC}account-disabled`, `${CAEP}session-revoked`, "urn:example:not-an-event-we-send"];

async function createStream(token: string, body: unknown = { delivery: PUSH_DELIVERY, events_requested: REQUESTED, description: "Receiver A" }) {
  const created = await call("POST", "/ssf/streams", { token, body });
  expect(created.status).toBe(201);
  return created.json;
}

describe("discovery and the JWKS, without a token", () => {
  it("GET /.well-known/ssf-configuration: SSF 1.0 metadata under the issuer", async () => {
    const answer = await call("GET", "/.well-known/ssf-configuration");
    expect(answer.status).toBe(200);
    expect(answer.headers.get("content-type")).toBe("application/json");
    expect(answer.json).toEqual({
      spec_version: "1_0",
      issuer,
      jwks_uri: `${issuer}/ssf/jwks`,
      delivery_methods_supported: [PUSH, POLL],
      configuration_endpoint: `${issuer}/ssf/streams`,
      status_endpoint: `${issuer}/ssf/status`,
      add_subject_endpoint: `${issuer}/ssf/subjects:add`,
      remove_subject_endpoint: `${issuer}/ssf/subjects:remove`,
      verification_endpoint: `${issuer}/ssf/verify`,
      authorization_schemes: [{ spec_urn: "urn:ietf:rfc:6750" }],
      default_subjects: "ALL",
    });
    expect((await call("POST", "/.well-known/ssf-configuration")).status).toBe(405);
  });

  it("with an issuer that has a path (SSF_ISSUER), the document is also at the well-known path followed by it", async () => {
    const behindProxy = await startServer({ env: { SSF_ISSUER: "https://idp.example.com/tenant-a/" } });
    try {
      for (const path of ["/.well-known/ssf-configuration/tenant-a", "/.well-known/ssf-configuration"]) {
        const answer = await ssfCall(behindProxy, "GET", path);
        expect(answer.status, path).toBe(200);
        expect(answer.json).toMatchObject({ issuer: "https://idp.example.com/tenant-a", configuration_endpoint: "https://idp.example.com/tenant-a/ssf/streams" });
      }
      expect((await ssfCall(behindProxy, "GET", "/.well-known/ssf-configuration/tenant-b")).status).toBe(404);
    } finally {
      await behindProxy.stop();
    }
  });

  it("GET /ssf/jwks: the public RSA signing key of 2048 bits, and nothing private", async () => {
    const answer = await call("GET", "/ssf/jwks");
    expect(answer.status).toBe(200);
    const [key, ...others] = answer.json.keys;
    expect(others).toEqual([]);
    expect(key).toMatchObject({ kty: "RSA", alg: "RS256", use: "sig", e: "AQAB" });
    expect(typeof key.kid).toBe("string");
    expect(Buffer.from(key.n, "base64url").length * 8).toBeGreaterThanOrEqual(2048);
    for (const secret of ["d", "p", "q", "dp", "dq", "qi"]) expect(key).not.toHaveProperty(secret);
    expect(server.output()).not.toContain("PRIVATE KEY");
  });
});

describe("signing keys: rotated by the CLI, the old key published until it is retired", () => {
  const kids = async () => (await call("GET", "/ssf/jwks")).json.keys.map((key: { kid: string }) => key.kid);

  it("ssf keys, rotate-key, retire-key; a SET signed before the rotation verifies until its key is retired", async () => {
    const [first] = await kids();
    const store = await openStore(server.databaseUrl, { poolSize: 1, logger: createLogger("error"), owner: false });
    const signed = await verificationSet({ id: 1, state: "s" }, { id: "1", aud: "receiver" }, { key: await new SigningKeys(store.ssf).current(), courier: new LocalCourier() }, issuer, new Date());
    await store.close();
    const verifies = async () => checkSet(signed.set, (await call("GET", "/ssf/jwks")).json, { issuer, audience: "receiver" });
    expect((await verifies()).header.kid).toBe(first);

    const listed = await cli(server, "ssf", "keys");
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(new RegExp(`^${first} signing created \\S+\n$`));

    const rotated = await cli(server, "ssf", "rotate-key");
    expect(rotated.code).toBe(0);
    const second = rotated.stdout.trim();
    expect(second).not.toBe(first);
    // The new key signs; the old one stays published, so what it signed still verifies.
    expect(await kids()).toEqual([second, first]);
    await verifies();
    expect((await cli(server, "ssf", "keys")).stdout).toMatch(new RegExp(`^${second} signing created \\S+\n${first} rotated-out \\S+ created \\S+\n$`));

    const current = await cli(server, "ssf", "retire-key", second);
    expect(current.code).toBe(1);
    expect(current.stderr).toBe(`error: key ${second} signs now: rotate first, then retire it\n`);
    expect((await cli(server, "ssf", "retire-key", "no-such-kid")).stderr).toBe("error: no published key no-such-kid\n");
    expect((await cli(server, "ssf", "retire-key")).code).toBe(2);

    const retired = await cli(server, "ssf", "retire-key", first!);
    expect(retired.code).toBe(0);
    expect(await kids()).toEqual([second]);
    expect(await query(server, "select kid from ssf_keys")).toEqual([{ kid: second }]);
    await expect(verifies()).rejects.toThrow(`the JWKS publishes the key ${first}`);
  });
});

describe("a stream's life", () => {
  it("create (201): the receiver's choices, and what the transmitter supplies", async () => {
    const { userId, token } = await receiver();
    const stream = await createStream(token);
    expect(stream).toEqual({
      stream_id: expect.stringMatching(/^\d{18}$/),
      iss: issuer,
      aud: userId,
      delivery: PUSH_DELIVERY,
      events_supported: EVENTS_SUPPORTED,
      events_requested: REQUESTED,
      events_delivered: [`${RISC}account-disabled`, `${CAEP}session-revoked`],
      description: "Receiver A",
      min_verification_interval: 10,
      format: "iss_sub",
    });
    expect(server.output()).not.toContain("receiver-secret");
  });

  it("create without delivery: poll, at the transmitter's endpoint for the stream; nothing requested, nothing delivered", async () => {
    const { token } = await receiver();
    const stream = await createStream(token, {});
    expect(stream.delivery).toEqual({ method: POLL, endpoint_url: `${issuer}/ssf/poll/${stream.stream_id}` });
    expect(stream).not.toHaveProperty("events_requested");
    expect(stream.events_delivered).toEqual([]);
  });

  it("a second stream of the same receiver is refused with 409", async () => {
    const { token } = await receiver();
    await createStream(token);
    const second = await call("POST", "/ssf/streams", { token, body: { delivery: PUSH_DELIVERY } });
    expect(second.status).toBe(409);
    expect(second.json).toEqual({ err: "conflict", description: expect.stringContaining("has a stream already") });
  });

  it("read (200): one by stream_id, or all of the receiver's", async () => {
    const { token } = await receiver();
    const stream = await createStream(token);
    expect((await call("GET", `/ssf/streams?stream_id=${stream.stream_id}`, { token })).json).toEqual(stream);
    const all = await call("GET", "/ssf/streams", { token });
    expect(all.status).toBe(200);
    expect(all.json).toEqual([stream]);
    expect((await call("GET", "/ssf/streams", { token: (await receiver()).token })).json).toEqual([]);
  });

  it("a description longer than 500 characters is cut to 500 (SSF §8.1.1 lets the transmitter truncate it)", async () => {
    const { token } = await receiver();
    const stream = await createStream(token, { description: "d".repeat(600) });
    expect(stream.description).toBe("d".repeat(500));
  });

  it("update (PATCH, 200): what is given changes, what is left out stays", async () => {
    const { token } = await receiver();
    const stream = await createStream(token);
    const requested = [`${RISC}account-enabled`];
    const updated = await call("PATCH", "/ssf/streams", { token, body: { stream_id: stream.stream_id, events_requested: requested } });
    expect(updated.status).toBe(200);
    expect(updated.json).toEqual({ ...stream, events_requested: requested, events_delivered: requested });
    const described = await call("PATCH", "/ssf/streams", { token, body: { stream_id: stream.stream_id, description: "B", format: "email" } });
    expect(described.json).toEqual({ ...updated.json, description: "B", format: "email" });
    expect((await call("GET", `/ssf/streams?stream_id=${stream.stream_id}`, { token })).json).toEqual(described.json);
  });

  it("update and replace: Transmitter-Supplied properties may come back, but only as they are (else 400)", async () => {
    const { token } = await receiver();
    const stream = await createStream(token);
    const echoed = await call("PATCH", "/ssf/streams", { token, body: { ...stream, description: "again" } });
    expect(echoed.status).toBe(200);
    for (const wrong of [{ iss: "https://elsewhere.example.com" }, { aud: "someone-else" }, { events_delivered: [] }, { min_verification_interval: 1 }]) {
      for (const method of ["PATCH", "PUT"]) {
        const refused = await call(method, "/ssf/streams", { token, body: { stream_id: stream.stream_id, delivery: PUSH_DELIVERY, ...wrong } });
        expect(refused.status, `${method} ${JSON.stringify(wrong)}`).toBe(400);
        expect(refused.json.description).toContain(`${Object.keys(wrong)[0]} does not match`);
      }
    }
    const pollUrlElsewhere = await call("PATCH", "/ssf/streams", { token, body: { stream_id: stream.stream_id, delivery: { method: POLL, endpoint_url: "https://x.example/poll" } } });
    expect(pollUrlElsewhere.status).toBe(400);
  });

  it("replace (PUT, 200): what is left out is deleted, delivery falls back to poll", async () => {
    const { token } = await receiver();
    const stream = await createStream(token);
    const replaced = await call("PUT", "/ssf/streams", { token, body: { stream_id: stream.stream_id, events_requested: [`${RISC}account-purged`] } });
    expect(replaced.status).toBe(200);
    const { description, ...rest } = stream;
    expect(replaced.json).toEqual({
      ...rest,
      delivery: { method: POLL, endpoint_url: `${issuer}/ssf/poll/${stream.stream_id}` },
      events_requested: [`${RISC}account-purged`],
      events_delivered: [`${RISC}account-purged`],
    });
  });

  it("delete (DELETE ?stream_id=, 204): gone, and the receiver may create another", async () => {
    const { token } = await receiver();
    const stream = await createStream(token);
    const deleted = await call("DELETE", `/ssf/streams?stream_id=${stream.stream_id}`, { token });
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe("");
    expect((await call("GET", `/ssf/streams?stream_id=${stream.stream_id}`, { token })).status).toBe(404);
    expect((await call("DELETE", `/ssf/streams?stream_id=${stream.stream_id}`, { token })).status).toBe(404);
    await createStream(token);
  });

  it("status: enabled at first; paused, disabled and enabled again, with a reason", async () => {
    const { token } = await receiver();
    const { stream_id } = await createStream(token);
    expect((await call("GET", `/ssf/status?stream_id=${stream_id}`, { token })).json).toEqual({ stream_id, status: "enabled" });
    const paused = await call("POST", "/ssf/status", { token, body: { stream_id, status: "paused", reason: "maintenance" } });
    expect(paused.status).toBe(200);
    expect(paused.json).toEqual({ stream_id, status: "paused", reason: "maintenance" });
    expect((await call("GET", `/ssf/status?stream_id=${stream_id}`, { token })).json).toEqual(paused.json);
    expect((await call("POST", "/ssf/status", { token, body: { stream_id, status: "disabled" } })).json).toEqual({ stream_id, status: "disabled" });
    expect((await call("POST", "/ssf/status", { token, body: { stream_id, status: "enabled" } })).json).toEqual({ stream_id, status: "enabled" });
    const unknownStatus = await call("POST", "/ssf/status", { token, body: { stream_id, status: "stopped" } });
    expect(unknownStatus.status).toBe(400);
    expect(unknownStatus.json.description).toBe("invalid stream status: status must be one of enabled, paused, disabled");
  });

  it("subjects: add (200, empty) and remove (204) in the iss_sub and email formats", async () => {
    const { token } = await receiver();
    const { stream_id } = await createStream(token);
    const added = await call("POST", "/ssf/subjects:add", { token, body: { stream_id, subject: { format: "email", email: "gigi@example.com" }, verified: true } });
    expect(added.status).toBe(200);
    expect(added.text).toBe("");
    const removed = await call("POST", "/ssf/subjects:remove", { token, body: { stream_id, subject: { format: "iss_sub", iss: issuer, sub: "200000000000000001" } } });
    expect(removed.status).toBe(204);
    const stored = await query<{ subject_key: string; included: unknown }>(server, "select subject_key, included from ssf_subjects where stream_id = ? order by subject_key", [stream_id]);
    expect(stored.map((row) => [row.subject_key, Boolean(row.included)])).toEqual([
      ["email gigi@example.com", true],
      [`iss_sub ${JSON.stringify([issuer, "200000000000000001"])}`, false],
    ]);
    for (const subject of [{ format: "phone_number", phone_number: "+1 206 555 0123" }, { format: "email" }, { format: "iss_sub", iss: issuer }, "gigi@example.com"]) {
      const refused = await call("POST", "/ssf/subjects:add", { token, body: { stream_id, subject } });
      expect(refused.status, JSON.stringify(subject)).toBe(400);
      expect(refused.json.description).toMatch(/^invalid add subject request: subject/);
    }
    expect((await call("POST", "/ssf/subjects:remove", { token, body: { stream_id } })).json.description).toBe("invalid remove subject request: subject is required");
  });

  it("verification (204): recorded with its state for the delivery side; again within min_verification_interval: 429", async () => {
    const { token } = await receiver();
    const { stream_id } = await createStream(token);
    const verified = await call("POST", "/ssf/verify", { token, body: { stream_id, state: "VGhpcyBpcyBhIHN0YXRl" } });
    expect(verified.status).toBe(204);
    const pending = await query<{ state: string }>(server, "select state from ssf_verifications where stream_id = ?", [stream_id]);
    expect(pending).toEqual([{ state: "VGhpcyBpcyBhIHN0YXRl" }]);
    const again = await call("POST", "/ssf/verify", { token, body: { stream_id } });
    expect(again.status).toBe(429);
    expect(Number(again.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    expect(Number(again.headers.get("retry-after"))).toBeLessThanOrEqual(10);
    expect(await query(server, "select state from ssf_verifications where stream_id = ?", [stream_id])).toHaveLength(1);
  });
});

describe("errors, as SSF §8 and the conformance plan want them", () => {
  it("broken JSON and bodies that are no JSON object: 400 on every operation that takes a body", async () => {
    const { token } = await receiver();
    await createStream(token);
    for (const [method, path] of [
      ["POST", "/ssf/streams"],
      ["PATCH", "/ssf/streams"],
      ["PUT", "/ssf/streams"],
      ["POST", "/ssf/status"],
      ["POST", "/ssf/subjects:add"],
      ["POST", "/ssf/subjects:remove"],
      ["POST", "/ssf/verify"],
    ] as const) {
      for (const raw of [";{ broken", "[]", "null", ""]) {
        const answer = await call(method, path, { token, raw });
        expect(answer.status, `${method} ${path} ${raw}`).toBe(400);
        expect(answer.json.err).toBe("invalid_request");
      }
    }
  });

  it("bad fields: 400 naming the field", async () => {
    const { token } = await receiver();
    const cases: [unknown, string][] = [
      [{ delivery: { method: "urn:example:carrier-pigeon" } }, `invalid stream configuration: delivery.method must be "${PUSH}" (push) or "${POLL}" (poll)`],
      [{ delivery: { method: PUSH } }, "invalid stream configuration: delivery.endpoint_url is required"],
      [{ delivery: { method: PUSH, endpoint_url: "not a url" } }, "invalid stream configuration: delivery.endpoint_url must be an absolute http(s) URL"],
      [{ delivery: { ...PUSH_DELIVERY, authorization_header: "Bearer x\r\nX-Injected: 1" } }, "invalid stream configuration: delivery.authorization_header must be a valid HTTP header value"],
      [{ events_requested: "all" }, "invalid stream configuration: events_requested must be an array of strings"],
      [{ format: "phone_number" }, 'invalid stream configuration: format must be "iss_sub" or "email"'],
      [{ description: 42 }, "invalid stream configuration: description must be a string"],
    ];
    for (const [body, description] of cases) {
      const answer = await call("POST", "/ssf/streams", { token, body });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.json).toEqual({ err: "invalid_request", description });
    }
    expect((await call("GET", "/ssf/streams", { token })).json).toEqual([]);
  });

  it("a push endpoint outside the outbound allow-list (OUTBOUND_URL_ALLOW) is refused (400)", async () => {
    const { token } = await receiver();
    const cases: [string, string][] = [
      ["http://hooks.example.com/events", "only https:// URLs are allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://127.0.0.1:9/events", "127.0.0.1 is a loopback address, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://10.20.30.40/events", "10.20.30.40 is a private address, not allowed (see OUTBOUND_URL_ALLOW)"],
    ];
    for (const [endpoint_url, reason] of cases) {
      const answer = await call("POST", "/ssf/streams", { token, body: { delivery: { method: PUSH, endpoint_url } } });
      expect(answer.status, endpoint_url).toBe(400);
      expect(answer.json).toEqual({ err: "invalid_request", description: `invalid stream configuration: delivery.endpoint_url: ${reason}` });
    }
    expect((await call("GET", "/ssf/streams", { token })).json).toEqual([]);
  });

  it("an unknown stream: 404 on every operation", async () => {
    const { token } = await receiver();
    const stream_id = "999999999999999999";
    const answers = [
      await call("GET", `/ssf/streams?stream_id=${stream_id}`, { token }),
      await call("PATCH", "/ssf/streams", { token, body: { stream_id, description: "x" } }),
      await call("PUT", "/ssf/streams", { token, body: { stream_id } }),
      await call("DELETE", `/ssf/streams?stream_id=${stream_id}`, { token }),
      await call("GET", `/ssf/status?stream_id=${stream_id}`, { token }),
      await call("POST", "/ssf/status", { token, body: { stream_id, status: "paused" } }),
      await call("POST", "/ssf/subjects:add", { token, body: { stream_id, subject: { format: "email", email: "a@example.com" } } }),
      await call("POST", "/ssf/subjects:remove", { token, body: { stream_id, subject: { format: "email", email: "a@example.com" } } }),
      await call("POST", "/ssf/verify", { token, body: { stream_id } }),
    ];
    expect(answers.map((answer) => answer.status)).toEqual(Array(answers.length).fill(404));
    expect(answers[0]!.json).toEqual({ err: "not_found", description: `no stream ${stream_id} for this receiver` });
  });

  it("no token, a bad token, a token in the query string: 401 with a Bearer challenge", async () => {
    const { token } = await receiver();
    const missing = await call("GET", "/ssf/streams");
    expect(missing.status).toBe(401);
    expect(missing.headers.get("www-authenticate")).toBe("Bearer");
    const bad = await call("POST", "/ssf/streams", { token: "not-a-token", body: {} });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const inQuery = await call("GET", `/ssf/streams?access_token=${token}`);
    expect(inQuery.status).toBe(401);
    expect(inQuery.json.description).toBe("access tokens are accepted only in the Authorization header");
    // Also beside a valid header: the query string is never where a token goes.
    expect((await call("GET", `/ssf/streams?access_token=${token}`, { token })).status).toBe(401);
    expect((await call("POST", `/ssf/verify?access_token=${token}`, { body: {} })).status).toBe(401);
  });

  it("a read-only token (SSF_READER) reads every stream but writes none: 403 with insufficient_scope", async () => {
    const { token: owner } = await receiver();
    const stream = await createStream(owner);
    const { token: reader } = await addMachine(server, orgId, "SSF_READER");
    const read = await call("GET", `/ssf/streams?stream_id=${stream.stream_id}`, { token: reader });
    expect(read.status).toBe(200);
    // The receiver's own secret is shown to the receiver only.
    const { authorization_header, ...delivery } = stream.delivery;
    expect(read.json).toEqual({ ...stream, delivery });
    expect((await call("GET", "/ssf/streams", { token: reader })).json).toContainEqual({ ...stream, delivery });
    expect((await call("GET", `/ssf/status?stream_id=${stream.stream_id}`, { token: reader })).status).toBe(200);

    const writes = [
      await call("POST", "/ssf/streams", { token: reader, body: { delivery: PUSH_DELIVERY } }),
      await call("PATCH", "/ssf/streams", { token: reader, body: { stream_id: stream.stream_id, description: "x" } }),
      await call("PUT", "/ssf/streams", { token: reader, body: { stream_id: stream.stream_id } }),
      await call("DELETE", `/ssf/streams?stream_id=${stream.stream_id}`, { token: reader }),
      await call("POST", "/ssf/status", { token: reader, body: { stream_id: stream.stream_id, status: "disabled" } }),
      await call("POST", "/ssf/subjects:remove", { token: reader, body: { stream_id: stream.stream_id, subject: { format: "email", email: "a@example.com" } } }),
      await call("POST", "/ssf/verify", { token: reader, body: { stream_id: stream.stream_id } }),
    ];
    for (const answer of writes) {
      expect(answer.status).toBe(403);
      expect(answer.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="ssf.manage"');
    }
    expect((await call("GET", `/ssf/streams?stream_id=${stream.stream_id}`, { token: owner })).json).toEqual(stream);
  });

  it("a token without any ssf permission (ORG_OWNER) may not even read: 403", async () => {
    const { token } = await addMachine(server, orgId, "ORG_OWNER");
    const answer = await call("GET", "/ssf/streams", { token });
    expect(answer.status).toBe(403);
    expect(answer.headers.get("www-authenticate")).toBe('Bearer error="insufficient_scope", scope="ssf.read"');
  });

  it("receivers are kept apart: another receiver's stream is not found; the administrator sees it but may not change it", async () => {
    const { token: owner } = await receiver();
    const { stream_id } = await createStream(owner);
    const { token: other } = await receiver();
    expect((await call("GET", `/ssf/streams?stream_id=${stream_id}`, { token: other })).status).toBe(404);
    expect((await call("POST", "/ssf/status", { token: other, body: { stream_id, status: "disabled" } })).status).toBe(404);
    expect((await call("GET", `/ssf/streams?stream_id=${stream_id}`, { token: server.adminToken })).status).toBe(200);
    const byAdmin = await call("PATCH", "/ssf/streams", { token: server.adminToken, body: { stream_id, description: "x" } });
    expect(byAdmin.status).toBe(403);
    expect(byAdmin.json.description).toBe(`stream ${stream_id} belongs to another receiver`);
  });

  it("a method an endpoint does not take: 405 with Allow", async () => {
    const answer = await call("GET", "/ssf/verify", { token: server.adminToken });
    expect(answer.status).toBe(405);
    expect(answer.headers.get("allow")).toBe("POST");
    expect((await call("DELETE", "/ssf/status")).headers.get("allow")).toBe("GET, POST");
  });
});

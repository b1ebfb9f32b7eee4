/**
 * The REST paths (google.api.http transcoding, SPEC §1, §5, §6) over plain HTTP/1.1 fetch:
 * success statuses and proto3 JSON bodies, grpc-gateway error bodies with their HTTP status,
 * path/body merging, body and query limits, routing (404/405), shared state with the RPC
 * protocols, and x-request-id.
 */
import http from "node:http";
import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { userClient } from "./support/clients.js";
import { addMachine, addOrg, TEST_PASSWORD_HASH } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});
afterAll(() => server?.stop());

// ---------------------------------------------------------------------------------------
// Plumbing
// ---------------------------------------------------------------------------------------

interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed body, or undefined when it is not JSON. */
  json: any;
}

type RestInit = { body?: string; token?: string | null; headers?: Record<string, string> };

/** One REST call; the admin token unless `token` says otherwise (null: no header at all). */
async function rest(method: string, path: string, init: RestInit = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...init.headers };
  const token = init.token === undefined ? server.adminToken : init.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (init.body !== undefined && headers["content-type"] === undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.baseUrl}${path}`, { method, headers, body: init.body });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** For what fetch refuses to send (a body on GET). */
function rawRequest(method: string, path: string, body: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.baseUrl}${path}`,
      {
        method,
        headers: {
          authorization: `Bearer ${server.adminToken}`,
          "content-type": "application/json",
          "content-length": String(Buffer.byteLength(body)),
          ...headers,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const h = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : v);
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode!, headers: h, text, json });
        });
        res.on("error", reject);
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const json = (value: unknown) => JSON.stringify(value);

/** The grpc-gateway error body of a ZITADEL error with an id. */
const zitadelError = (code: number, id: string, text: string) => ({
  code,
  message: `${text} (${id})`,
  details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id, message: text }],
});

const RFC3339_UTC = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$/;
const withinAMinute = (iso: string) => Math.abs(new Date(iso).getTime() - Date.now()) < 60_000;
const NOT_FOUND = "User could not be found";
const UNKNOWN_ID = "123456789012345678";

/** Asserts a `details` object of a change: sequence as string, RFC 3339 dates, the org id. */
function expectChangeDetails(details: any, sequence: string, resourceOwner?: string, isChange = true) {
  expect(details.sequence).toBe(sequence);
  expect(details.changeDate).toMatch(RFC3339_UTC);
  expect(withinAMinute(details.changeDate)).toBe(true);
  expect(details.resourceOwner).toMatch(/^\d{18}$/);
  if (resourceOwner !== undefined) expect(details.resourceOwner).toBe(resourceOwner);
  expect(details.creationDate).toMatch(RFC3339_UTC);
  // SPEC §4: on a change, changeDate = creationDate = the time of that event.
  if (isChange) expect(details.creationDate).toBe(details.changeDate);
}

/** Every key of a JSON value, at any depth ("@type" aside). */
function allKeys(value: unknown): string[] {
  if (Array.isArray(value)) return value.flatMap(allKeys);
  if (value === null || typeof value !== "object") return [];
  return Object.entries(value).flatMap(([k, v]) => [k, ...allKeys(v)]);
}
const expectLowerCamelCase = (value: unknown) => {
  for (const key of allKeys(value)) expect(key, `key ${key}`).toMatch(/^[a-z][a-zA-Z0-9]*$/);
};

/** With a password imported as a cheap hash (fixtures.ts says why); the hashing's own tests send theirs. */
function humanBody(extra: Record<string, unknown> = {}, password = true) {
  const name = randomUUID();
  return {
    username: `rest-${name}`,
    profile: { givenName: "Gigi", familyName: "Giraffe" },
    email: { email: `${name}@example.com`, isVerified: true },
    ...(password ? { hashedPassword: { hash: TEST_PASSWORD_HASH } } : {}),
    ...extra,
  };
}

/** Creates an ACTIVE human over REST; returns its id. */
async function addHumanRest(extra: Record<string, unknown> = {}, password = true): Promise<string> {
  const res = await rest("POST", "/v2/users/human", { body: json(humanBody(extra, password)) });
  expect(res.status, res.text).toBe(201);
  return res.json.userId;
}

async function stateOf(userId: string): Promise<string> {
  const res = await rest("GET", `/v2/users/${encodeURIComponent(userId)}`);
  expect(res.status, res.text).toBe(200);
  return res.json.user.state;
}

// ---------------------------------------------------------------------------------------
// Every mapped RPC
// ---------------------------------------------------------------------------------------

describe("mapped RPCs", () => {
  it("POST /v2/users/human answers 201 with userId and details", async () => {
    const body = humanBody();
    const res = await rest("POST", "/v2/users/human", { body: json(body) });
    expect(res.status, res.text).toBe(201);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json.userId).toMatch(/^\d{18}$/);
    expectChangeDetails(res.json.details, "1");
    expectLowerCamelCase(res.json);
    expect(Object.keys(res.json).sort()).toEqual(["details", "userId"]);
  });

  it("accepts snake_case input keys on AddHumanUser (user_id, given_name, is_verified)", async () => {
    const userId = `rest-snake-${randomUUID()}`;
    const name = randomUUID();
    const res = await rest("POST", "/v2/users/human", {
      body: json({
        user_id: userId,
        username: `rest-${name}`,
        profile: { given_name: "Snake", family_name: "Case" },
        email: { email: `${name}@example.com`, is_verified: true },
        password: { password: "Secr3t-Passw0rd!", change_required: false },
      }),
    });
    expect(res.status, res.text).toBe(201);
    expect(res.json.userId).toBe(userId);
    const read = await rest("GET", `/v2/users/${userId}`);
    expect(read.json.user.human.profile).toMatchObject({ givenName: "Snake", familyName: "Case" });
  });

  it("GET /v2/users/{id} answers 200 with the user in proto3 JSON", async () => {
    const body = humanBody();
    const userId = (await rest("POST", "/v2/users/human", { body: json(body) })).json.userId as string;
    const res = await rest("GET", `/v2/users/${userId}`);
    expect(res.status, res.text).toBe(200);
    expectLowerCamelCase(res.json);
    expectChangeDetails(res.json.details, "1", undefined, false);
    const user = res.json.user;
    expect(user.userId).toBe(userId);
    expect(user.state).toBe("USER_STATE_ACTIVE");
    expect(user.username).toBe(body.username);
    expect(user.details.sequence).toBe("1");
    expect(user.details.resourceOwner).toBe(res.json.details.resourceOwner);
    expect(user.human.profile).toMatchObject({ givenName: "Gigi", familyName: "Giraffe" });
    expect(user.human.email).toEqual({ email: body.email.email, isVerified: true });
    expect(user.machine).toBeUndefined();
  });

  it("GET of a new user without password says USER_STATE_INITIAL", async () => {
    const userId = await addHumanRest({}, false);
    expect(await stateOf(userId)).toBe("USER_STATE_INITIAL");
  });

  it("POST /v2/users (ListUsers) with a queries filter answers 200 with the matches", async () => {
    const a = await addHumanRest();
    const b = await addHumanRest();
    await addHumanRest(); // not asked for
    const res = await rest("POST", "/v2/users", { body: json({ queries: [{ inUserIdsQuery: { userIds: [a, b, UNKNOWN_ID] } }] }) });
    expect(res.status, res.text).toBe(200);
    expectLowerCamelCase(res.json);
    expect(res.json.details.totalResult).toBe("2");
    expect(res.json.result.map((u: any) => u.userId).sort()).toEqual([a, b].sort());
    for (const user of res.json.result) {
      expect(user.state).toBe("USER_STATE_ACTIVE");
      expect(user.details.sequence).toBe("1");
    }

    // snake_case query keys mean the same.
    const snake = await rest("POST", "/v2/users", { body: json({ queries: [{ in_user_ids_query: { user_ids: [a] } }] }) });
    expect(snake.status, snake.text).toBe(200);
    expect(snake.json.result.map((u: any) => u.userId)).toEqual([a]);
    expect(snake.json.details.totalResult).toBe("1");
  });

  it("lock, unlock, deactivate, reactivate answer 200 with details carrying the right sequence; delete then GET is 404", async () => {
    const userId = await addHumanRest();
    const owner = (await rest("GET", `/v2/users/${userId}`)).json.details.resourceOwner as string;
    const steps: [string, string, string][] = [
      ["lock", "2", "USER_STATE_LOCKED"],
      ["unlock", "3", "USER_STATE_ACTIVE"],
      ["deactivate", "4", "USER_STATE_INACTIVE"],
      ["reactivate", "5", "USER_STATE_ACTIVE"],
    ];
    for (const [verb, sequence, state] of steps) {
      const res = await rest("POST", `/v2/users/${userId}/${verb}`, { body: "{}" });
      expect(res.status, `${verb}: ${res.text}`).toBe(200);
      expect(Object.keys(res.json)).toEqual(["details"]);
      expectChangeDetails(res.json.details, sequence, owner);
      expectLowerCamelCase(res.json);
      const read = await rest("GET", `/v2/users/${userId}`);
      expect(read.json.user.state).toBe(state);
      expect(read.json.details.sequence).toBe(sequence);
    }

    const deleted = await rest("DELETE", `/v2/users/${userId}`);
    expect(deleted.status, deleted.text).toBe(200);
    expect(Object.keys(deleted.json)).toEqual(["details"]);
    expectChangeDetails(deleted.json.details, "6", owner);

    const gone = await rest("GET", `/v2/users/${userId}`);
    expect(gone.status).toBe(404);
    expect(gone.json).toEqual(zitadelError(5, "QUERY-Dfbg2", NOT_FOUND));
    const notListed = await rest("POST", "/v2/users", { body: json({ queries: [{ inUserIdsQuery: { userIds: [userId] } }] }) });
    expect(notListed.status).toBe(200);
    expect(notListed.json.result ?? []).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------
// Errors: grpc-gateway shape, HTTP status of SPEC §5
// ---------------------------------------------------------------------------------------

describe("errors", () => {
  it("lock twice → 400 FailedPrecondition COMMAND-lgws8wtsqf", async () => {
    const userId = await addHumanRest();
    expect((await rest("POST", `/v2/users/${userId}/lock`)).status).toBe(200);
    const res = await rest("POST", `/v2/users/${userId}/lock`);
    expect(res.status).toBe(400);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(res.json).toEqual({
      code: 9,
      message: "User is not active or initial (COMMAND-lgws8wtsqf)",
      details: [
        { "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-lgws8wtsqf", message: "User is not active or initial" },
      ],
    });
    // "@type" leads, as grpc-gateway writes an Any.
    expect(Object.keys(res.json.details[0])[0]).toBe("@type");
  });

  it("unlock of an active user → 400 COMMAND-olb9vb0oca", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/unlock`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual(zitadelError(9, "COMMAND-olb9vb0oca", "User is not locked"));
  });

  it("deactivate of an inactive user and reactivate of an active one → 400 with their ids", async () => {
    const userId = await addHumanRest();
    const react = await rest("POST", `/v2/users/${userId}/reactivate`);
    expect(react.status).toBe(400);
    expect(react.json).toEqual(zitadelError(9, "COMMAND-s5qqcz97hf", "User is not inactive"));
    expect((await rest("POST", `/v2/users/${userId}/deactivate`)).status).toBe(200);
    const again = await rest("POST", `/v2/users/${userId}/deactivate`);
    expect(again.status).toBe(400);
    expect(again.json).toEqual(zitadelError(9, "COMMAND-5gunjw0cd7", "User already inactive"));
  });

  it("unknown user → 404 code 5 with each call's own id", async () => {
    const cases: [string, string, string][] = [
      ["POST", `/v2/users/${UNKNOWN_ID}/lock`, "COMMAND-450yxuqrh1"],
      ["POST", `/v2/users/${UNKNOWN_ID}/unlock`, "COMMAND-x377t913pw"],
      ["POST", `/v2/users/${UNKNOWN_ID}/deactivate`, "COMMAND-5gp2p62iin"],
      ["POST", `/v2/users/${UNKNOWN_ID}/reactivate`, "COMMAND-9hy5kzbuk6"],
      ["DELETE", `/v2/users/${UNKNOWN_ID}`, "COMMAND-bd4ir1mblj"],
      ["GET", `/v2/users/${UNKNOWN_ID}`, "QUERY-Dfbg2"],
    ];
    for (const [method, path, id] of cases) {
      const res = await rest(method, path);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json, `${method} ${path}`).toEqual(zitadelError(5, id, NOT_FOUND));
    }
  });

  it("no token → 401 code 16 'auth header missing'; the user is unchanged", async () => {
    const userId = await addHumanRest();
    for (const [method, path, body] of [
      ["POST", `/v2/users/${userId}/lock`, undefined],
      ["GET", `/v2/users/${userId}`, undefined],
      ["POST", "/v2/users", "{}"],
      ["POST", "/v2/users/human", json(humanBody())],
      ["DELETE", `/v2/users/${userId}`, undefined],
    ] as const) {
      const res = await rest(method, path, { token: null, body });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(res.json, `${method} ${path}`).toEqual({ code: 16, message: "auth header missing", details: [] });
    }
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("bad token → 401 'Token is invalid (AUTH-7fs1e)'", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock`, { token: "not-a-real-token" });
    expect(res.status).toBe(401);
    expect(res.json).toEqual(zitadelError(16, "AUTH-7fs1e", "Token is invalid"));
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("ORG_OWNER_VIEWER locking a user of its organization → 403 code 7 AUTH-AWfge", async () => {
    const orgId = await addOrg(server);
    const viewer = await addMachine(server, orgId, "ORG_OWNER_VIEWER");
    const userId = await addHumanRest({ organization: { orgId } });
    // The viewer may read it ...
    const read = await rest("GET", `/v2/users/${userId}`, { token: viewer.token });
    expect(read.status, read.text).toBe(200);
    // ... but not lock it.
    const res = await rest("POST", `/v2/users/${userId}/lock`, { token: viewer.token });
    expect(res.status).toBe(403);
    expect(res.json).toEqual(zitadelError(7, "AUTH-AWfge", "No matching permissions found"));
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("AddHumanUser with a username already used → 409 code 6", async () => {
    const body = humanBody();
    expect((await rest("POST", "/v2/users/human", { body: json(body) })).status).toBe(201);
    const res = await rest("POST", "/v2/users/human", { body: json({ ...body, email: { email: `${randomUUID()}@example.com`, isVerified: true } }) });
    expect(res.status).toBe(409);
    expect(res.json).toEqual(zitadelError(6, "V3-DKcYh", "User already exists"));
  });

  it("AddHumanUser with a user_id already used → 409 code 6", async () => {
    const userId = `rest-dup-${randomUUID()}`;
    expect((await rest("POST", "/v2/users/human", { body: json(humanBody({ userId })) })).status).toBe(201);
    const res = await rest("POST", "/v2/users/human", { body: json(humanBody({ userId })) });
    expect(res.status).toBe(409);
    expect(res.json).toEqual(zitadelError(6, "COMMAND-7yiox1isql", "User already exists"));
  });

  it("a 201-character user id in the path → 400 code 3 naming the length rule", async () => {
    const res = await rest("POST", `/v2/users/${"1".repeat(201)}/lock`);
    expect(res.status).toBe(400);
    expect(res.json).toEqual({
      code: 3,
      message: "invalid LockUserRequest.UserId: value length must be between 1 and 200 runes, inclusive",
      details: [],
    });
    // 200 characters pass validation and reach NotFound.
    const ok = await rest("POST", `/v2/users/${"1".repeat(200)}/lock`);
    expect(ok.status).toBe(404);
    expect(ok.json).toEqual(zitadelError(5, "COMMAND-450yxuqrh1", NOT_FOUND));
  });
});

// ---------------------------------------------------------------------------------------
// Path and body
// ---------------------------------------------------------------------------------------

describe("path and body", () => {
  it("accepts an empty body and {} on POST …/lock", async () => {
    const a = await addHumanRest();
    const empty = await rest("POST", `/v2/users/${a}/lock`);
    expect(empty.status, empty.text).toBe(200);
    expect(empty.json.details.sequence).toBe("2");
    expect(await stateOf(a)).toBe("USER_STATE_LOCKED");

    const b = await addHumanRest();
    const braces = await rest("POST", `/v2/users/${b}/lock`, { body: "{}" });
    expect(braces.status, braces.text).toBe(200);
    expect(braces.json.details.sequence).toBe("2");
    expect(await stateOf(b)).toBe("USER_STATE_LOCKED");
  });

  it("the path id overrides a different userId in the body", async () => {
    const pathUser = await addHumanRest();
    const bodyUser = await addHumanRest();
    const res = await rest("POST", `/v2/users/${pathUser}/lock`, { body: json({ userId: bodyUser }) });
    expect(res.status, res.text).toBe(200);
    expect(await stateOf(pathUser)).toBe("USER_STATE_LOCKED");
    expect(await stateOf(bodyUser)).toBe("USER_STATE_ACTIVE");
  });

  it("the path id overrides both user_id and userId in the body", async () => {
    const pathUser = await addHumanRest();
    const bodyUser = await addHumanRest();
    const res = await rest("POST", `/v2/users/${pathUser}/lock`, { body: json({ user_id: bodyUser, userId: bodyUser }) });
    expect(res.status, res.text).toBe(200);
    expect(await stateOf(pathUser)).toBe("USER_STATE_LOCKED");
    expect(await stateOf(bodyUser)).toBe("USER_STATE_ACTIVE");

    const snakeOnly = await addHumanRest();
    const res2 = await rest("POST", `/v2/users/${snakeOnly}/lock`, { body: json({ user_id: bodyUser }) });
    expect(res2.status, res2.text).toBe(200);
    expect(await stateOf(snakeOnly)).toBe("USER_STATE_LOCKED");
    expect(await stateOf(bodyUser)).toBe("USER_STATE_ACTIVE");
  });

  it("decodes percent-encoded path segments", async () => {
    // Digits written as %3X reach the same user.
    const numeric = await addHumanRest();
    const encoded = [...numeric].map((c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).join("");
    const res = await rest("POST", `/v2/users/${encoded}/lock`);
    expect(res.status, res.text).toBe(200);
    expect(await stateOf(numeric)).toBe("USER_STATE_LOCKED");

    // An own id with a space and a non-ASCII letter.
    const userId = `rest id é ${randomUUID()}`;
    expect(await addHumanRest({ userId })).toBe(userId);
    const path = `/v2/users/${encodeURIComponent(userId)}`;
    expect(path).toContain("%20");
    expect(path).toContain("%C3%A9");
    const read = await rest("GET", path);
    expect(read.status, read.text).toBe(200);
    expect(read.json.user.userId).toBe(userId);
    const locked = await rest("POST", `${path}/lock`);
    expect(locked.status, locked.text).toBe(200);
    expect(locked.json.details.sequence).toBe("2");
    expect(await stateOf(userId)).toBe("USER_STATE_LOCKED");
  });

  it("an unknown JSON key → 400 code 3 naming the key; nothing changes", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock`, { body: json({ bogusField: 1 }) });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.stringContaining("bogusField"), details: [] });
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");

    const nested = await rest("POST", "/v2/users/human", { body: json(humanBody({ profile: { givenName: "A", familyName: "B", shoeSize: 44 } })) });
    expect(nested.status, nested.text).toBe(400);
    expect(nested.json).toEqual({ code: 3, message: expect.stringContaining("shoeSize"), details: [] });
  });

  it("malformed JSON → 400 code 3", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock`, { body: '{"userId": ' });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.any(String), details: [] });
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("a JSON array body → 400 code 3", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock`, { body: "[]" });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.any(String), details: [] });
    for (const scalar of ["42", '"text"', "null"]) {
      const other = await rest("POST", `/v2/users/${userId}/lock`, { body: scalar });
      expect(other.status, `${scalar}: ${other.text}`).toBe(400);
      expect(other.json.code).toBe(3);
    }
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("a body over 1 MiB → 429 code 8", async () => {
    const userId = await addHumanRest();
    const body = json({ userId: "x".repeat(1024 * 1024 + 16) });
    const res = await rest("POST", `/v2/users/${userId}/lock`, { body });
    expect(res.status, res.text.slice(0, 200)).toBe(429);
    expect(res.json).toEqual({ code: 8, message: expect.any(String), details: [] });
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
    // Padding up to just under the limit is still accepted.
    const fits = `{"userId":"${userId}"}`.padEnd(1024 * 1024 - 16, " ");
    const ok = await rest("POST", `/v2/users/${userId}/lock`, { body: fits });
    expect(ok.status, ok.text).toBe(200);
  });

  it("a query parameter → 400 code 3; the user is unchanged", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock?foo=1`);
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.stringContaining("foo"), details: [] });
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
    const onGet = await rest("GET", `/v2/users/${userId}?foo=1`);
    expect(onGet.status, onGet.text).toBe(400);
    expect(onGet.json.code).toBe(3);
  });

  it("a body on GET /v2/users/{id} → 400 code 3", async () => {
    const userId = await addHumanRest();
    const res = await rawRequest("GET", `/v2/users/${userId}`, json({ userId }));
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.any(String), details: [] });
  });

  it("a body on DELETE /v2/users/{id} (no body mapping) → 400 code 3; the user is not deleted", async () => {
    const userId = await addHumanRest();
    const res = await rest("DELETE", `/v2/users/${userId}`, { body: "{}" });
    expect(res.status, res.text).toBe(400);
    expect(res.json).toEqual({ code: 3, message: expect.any(String), details: [] });
    expect(await stateOf(userId)).toBe("USER_STATE_ACTIVE");
  });

  it("reads a JSON body whatever its content-type says (grpc-gateway's wildcard marshaler)", async () => {
    const userId = await addHumanRest();
    const res = await rest("POST", `/v2/users/${userId}/lock`, { body: "{}", headers: { "content-type": "text/plain" } });
    expect(res.status, res.text).toBe(200);
    expect(res.json.details.sequence).toBe("2");
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
  });
});

// ---------------------------------------------------------------------------------------
// Routing
// ---------------------------------------------------------------------------------------

describe("routing", () => {
  it("an unknown path → 404 grpc-gateway Not Found", async () => {
    for (const [method, path] of [
      ["GET", "/v2/nothing"],
      ["POST", "/v2/users/1/explode"],
      ["GET", "/v2/users/1/explode"],
      ["POST", "/v2/users/1/lock/extra"],
      ["GET", "/v3/users/1"],
    ]) {
      const res = await rest(method!, path!);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json, `${method} ${path}`).toEqual({ code: 5, message: "Not Found", details: [] });
    }
  });

  it("the wrong verb on a known path → 405 with Allow and a grpc-gateway body", async () => {
    const lock = await rest("GET", "/v2/users/1/lock");
    expect(lock.status).toBe(405);
    expect(lock.headers.get("allow")).toBe("POST");
    expect(lock.json).toEqual({ code: 12, message: "Method Not Allowed", details: [] });

    // /v2/users/human also fits /v2/users/{user_id} (GET, DELETE).
    const human = await rest("PUT", "/v2/users/human", { body: "{}" });
    expect(human.status).toBe(405);
    const allowed = human.headers.get("allow")!.split(",").map((v) => v.trim()).sort();
    expect(allowed).toEqual(["DELETE", "GET", "POST"]);
    expect(human.json).toEqual({ code: 12, message: "Method Not Allowed", details: [] });

    const list = await rest("GET", "/v2/users");
    expect(list.status).toBe(405);
    expect(list.headers.get("allow")).toBe("POST");
    expect(list.json).toEqual({ code: 12, message: "Method Not Allowed", details: [] });
  });
});

// ---------------------------------------------------------------------------------------
// REST and RPC share state
// ---------------------------------------------------------------------------------------

describe("REST and RPC see the same state", () => {
  it("lock over REST, read over gRPC; unlock over Connect JSON, read over REST", async () => {
    const userId = await addHumanRest();
    const locked = await rest("POST", `/v2/users/${userId}/lock`);
    expect(locked.status, locked.text).toBe(200);

    const grpc = userClient("grpc", server.baseUrl, server.adminToken);
    const read = await grpc.getUserByID({ userId });
    expect(read.user!.state).toBe(UserState.LOCKED);
    expect(read.details!.sequence).toBe(2n);

    const connect = userClient("connect-json", server.baseUrl, server.adminToken);
    const unlocked = await connect.unlockUser({ userId });
    expect(unlocked.details!.sequence).toBe(3n);

    const res = await rest("GET", `/v2/users/${userId}`);
    expect(res.status).toBe(200);
    expect(res.json.user.state).toBe("USER_STATE_ACTIVE");
    expect(res.json.details.sequence).toBe("3");
  });
});

// ---------------------------------------------------------------------------------------
// x-request-id
// ---------------------------------------------------------------------------------------

describe("x-request-id", () => {
  it("is on every response: success, error, 404, 405", async () => {
    const userId = await addHumanRest();
    const answers = [
      await rest("GET", `/v2/users/${userId}`),
      await rest("POST", `/v2/users/${userId}/unlock`),
      await rest("POST", `/v2/users/${userId}/lock`, { token: null }),
      await rest("GET", "/v2/nothing"),
      await rest("GET", `/v2/users/${userId}/lock`),
      await rest("POST", `/v2/users/${userId}/lock`, { body: "{" }),
    ];
    const ids = answers.map((a) => a.headers.get("x-request-id"));
    for (const id of ids) expect(id).toMatch(/^\S{8,}$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("echoes a given x-request-id", async () => {
    const userId = await addHumanRest();
    const ok = await rest("GET", `/v2/users/${userId}`, { headers: { "x-request-id": "test-123" } });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-request-id")).toBe("test-123");
    const failed = await rest("POST", `/v2/users/${UNKNOWN_ID}/lock`, { headers: { "x-request-id": "test-456" } });
    expect(failed.status).toBe(404);
    expect(failed.headers.get("x-request-id")).toBe("test-456");
    const missing = await rest("GET", "/v2/nothing", { headers: { "x-request-id": "test-789" } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get("x-request-id")).toBe("test-789");
  });
});

describe("query parameters on calls without a body", () => {
  it("set a string field, as grpc-gateway does: GET /v2/sessions/{id}?sessionToken=…", async () => {
    const created = await rest("POST", "/v2/users/human", {
      body: JSON.stringify({
        username: `q-${randomUUID()}`,
        profile: { givenName: "Query", familyName: "Param" },
        email: { email: `${randomUUID()}@example.com` },
        hashedPassword: { hash: TEST_PASSWORD_HASH },
      }),
    });
    const session = await rest("POST", "/v2/sessions", {
      body: JSON.stringify({ checks: { user: { userId: created.json.userId } } }),
    });
    expect(session.status).toBe(201);
    const viewer = await addMachine(server, (await rest("GET", `/v2/users/${created.json.userId}`)).json.user.details.resourceOwner, "ORG_OWNER_VIEWER");

    const withToken = await rest("GET", `/v2/sessions/${session.json.sessionId}?sessionToken=${encodeURIComponent(session.json.sessionToken)}`, { token: viewer.token });
    expect(withToken.status).toBe(200);
    expect(withToken.json.session.id).toBe(session.json.sessionId);
    const withoutToken = await rest("GET", `/v2/sessions/${session.json.sessionId}`, { token: viewer.token });
    expect(withoutToken.status).toBe(403);

    // A parameter naming a field the path already sets, or no field at all, is refused.
    expect((await rest("GET", `/v2/sessions/${session.json.sessionId}?sessionId=other`)).status).toBe(400);
    expect((await rest("GET", `/v2/sessions/${session.json.sessionId}?session_token=a&x=1`)).status).toBe(400);
  });
});

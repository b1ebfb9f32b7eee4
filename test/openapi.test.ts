/**
 * The OpenAPI document of the REST paths (issue 24), as a real server serves it at
 * GET /openapi.json: a maintained validator accepts it, its paths are exactly the routes the
 * server dispatches and each is served, each call's answer status and authentication are the
 * documented ones, and docs/openapi.json is what the generator makes now.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { compileErrors, validate } from "@readme/openapi-parser";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { restRoutes } from "../src/edge/rest/http-rules.js";
import { openApiText } from "../src/edge/rest/openapi-document.js";
import { API_SERVICES } from "../src/rpc/routes.js";
import { ROOT, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let served: string;
type Responses = Record<string, { $ref?: string; description?: string }>;
let doc: {
  security: unknown;
  paths: Record<string, Record<string, { requestBody?: unknown; security?: unknown[]; responses: Responses }>>;
  components: { responses: Responses };
};
beforeAll(async () => {
  server = await startServer();
  const res = await fetch(`${server.baseUrl}/openapi.json`);
  expect(res.status).toBe(200);
  expect(res.headers.get("content-type")).toBe("application/json");
  served = await res.text();
  doc = JSON.parse(served);
});
afterAll(() => server?.stop());

/** A path template with its variables unnamed, to compare the proto's {user_id} with the document's {userId}. */
const shape = (template: string) => template.replace(/\{[^}]*\}/g, "{}");
/** Not a user, session or target id the server has. */
const UNKNOWN_ID = "123456789012345678";
/** What the server answers on a path no route has (dispatch.ts). */
const NO_ROUTE = { code: 5, message: "Not Found", details: [] };

const operations = () =>
  Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([verb, op]) => ({ path, verb: verb.toUpperCase(), op })));

async function call(verb: string, path: string, init: { token?: string; body?: string }) {
  const url = `${server.baseUrl}${path.replace(/\{[^}]*\}/g, UNKNOWN_ID)}`;
  const headers: Record<string, string> = init.token ? { authorization: `Bearer ${init.token}` } : {};
  if (init.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(url, { method: verb, headers, body: init.body });
  const text = await res.text();
  return { status: res.status, text };
}

/** The code names a documented error response stands for, from its description ("InvalidArgument, FailedPrecondition"). */
function documentedCodes(responses: Responses, status: number): string[] {
  const response = responses[String(status)]!;
  const shared = response.$ref ? doc.components.responses[response.$ref.split("/").pop()!]! : response;
  return shared.description!.split(", ");
}

describe("the document", () => {
  it("passes @readme/openapi-parser's OpenAPI 3.1 validation, which refuses a broken one", async () => {
    const result = await validate(JSON.parse(served));
    expect(result.valid, result.valid ? "" : compileErrors(result)).toBe(true);
    expect(JSON.parse(served).openapi).toBe("3.1.0");

    const broken = JSON.parse(served);
    broken.paths["/v2/users/{userId}/lock"].post.responses["200"].content["application/json"].schema.$ref = "#/components/schemas/NoSuchMessage";
    expect((await validate(broken)).valid).toBe(false);
  });

  it("docs/openapi.json is what the server serves and what the generator makes now (else: npm run openapi)", () => {
    const committed = readFileSync(join(ROOT, "docs/openapi.json"), "utf8");
    expect(committed).toBe(openApiText(restRoutes(API_SERVICES)));
    expect(served).toBe(committed);
  });
});

describe("paths", () => {
  it("are exactly the REST routes the server dispatches, and GET /openapi.json", () => {
    const routes = restRoutes(API_SERVICES).map((route) => `${route.verb} ${shape(route.template)}`);
    const documented = operations().map(({ verb, path }) => `${verb} ${shape(path)}`);
    expect(routes.length).toBeGreaterThan(25);
    expect(new Set(documented).size).toBe(documented.length);
    expect([...documented].sort()).toEqual([...routes, "GET /openapi.json"].sort());
  });

  it("each is served: with the admin token it answers a documented status, never the no-route 404 or a 405", async () => {
    // The control: a path no route has is told apart by its body.
    const unknown = await call("POST", "/v2/users/{id}/no-such-call", { token: server.adminToken, body: "{}" });
    expect([unknown.status, JSON.parse(unknown.text)]).toEqual([404, NO_ROUTE]);

    for (const { path, verb, op } of operations()) {
      const answer = await call(verb, path, { token: server.adminToken, body: op.requestBody ? "{}" : undefined });
      const where = `${verb} ${path}: ${answer.status} ${answer.text.slice(0, 300)}`;
      expect(answer.status, where).not.toBe(405);
      if (answer.status === 404) expect(JSON.parse(answer.text), where).not.toEqual(NO_ROUTE);
      expect(Object.keys(op.responses), where).toContain(String(answer.status));
      if (answer.status >= 400) expect(documentedCodes(op.responses, answer.status), where).toContain(Code[JSON.parse(answer.text).code]);
    }
  });

  it("each needs a bearer token except GET /openapi.json, as the document says", async () => {
    expect(doc.security).toEqual([{ bearer: [] }]);
    for (const { path, verb, op } of operations()) {
      const answer = await call(verb, path, { body: op.requestBody ? "{}" : undefined });
      const where = `${verb} ${path}: ${answer.status} ${answer.text.slice(0, 200)}`;
      if (path === "/openapi.json") {
        expect(op.security, where).toEqual([]);
        expect(answer.status, where).toBe(200);
      } else {
        expect(op.security, where).toBeUndefined();
        expect(answer.status, where).toBe(401);
        expect(Object.keys(op.responses), where).toContain("401");
      }
    }
  });
});

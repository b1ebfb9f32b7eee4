/**
 * A client generated from the served OpenAPI document (issue 24): openapi-typescript's types
 * for openapi-fetch, typechecked with tsc (a path, parameter or body field the document does not
 * have fails it) and run against a real server: create a human user, lock it, read the ZITADEL
 * error of a second lock (SPEC §3, §5), unlock it.
 */
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import openapiTS, { astToString } from "openapi-typescript";
import ts from "typescript";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ROOT, startServer, type TestServer } from "./support/server.js";

let server: TestServer;
let dir: string;
beforeAll(async () => {
  server = await startServer();
  dir = mkdtempSync(join(tmpdir(), "zus-openapi-client-"));
  // The generated files resolve openapi-fetch from the project, as an app would from its own.
  symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
  writeFileSync(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  const types = astToString(await openapiTS(new URL(`${server.baseUrl}/openapi.json`)));
  writeFileSync(join(dir, "api.d.ts"), types);
});
afterAll(async () => {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true });
});

/** What an app would write: every call typed by the generated `paths`. */
const CLIENT = `
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

export async function lockTwice(baseUrl: string, token: string, email: string) {
  const client = createClient<paths>({ baseUrl, headers: { authorization: \`Bearer \${token}\` } });
  const added = await client.POST("/v2/users/human", {
    body: { profile: { givenName: "Ada", familyName: "Lovelace" }, email: { email, isVerified: true } },
  });
  if (!added.data?.userId) throw new Error(\`AddHumanUser: \${added.response.status} \${JSON.stringify(added.error)}\`);
  const userId: string = added.data.userId;
  const path = { params: { path: { userId } }, body: {} };
  const locked = await client.POST("/v2/users/{userId}/lock", path);
  const again = await client.POST("/v2/users/{userId}/lock", path);
  const unlocked = await client.POST("/v2/users/{userId}/unlock", path);
  const read = await client.GET("/v2/users/{userId}", { params: { path: { userId } } });
  const detail = again.error?.details[0];
  return {
    added: { status: added.response.status, userId, sequence: added.data.details?.sequence },
    locked: { status: locked.response.status, sequence: locked.data?.details?.sequence, changeDate: locked.data?.details?.changeDate },
    again: {
      status: again.response.status,
      code: again.error?.code,
      message: again.error?.message,
      detailCount: again.error?.details.length,
      detail: detail && { type: detail["@type"], id: detail.id, message: detail.message },
    },
    unlocked: { status: unlocked.response.status, sequence: unlocked.data?.details?.sequence },
    state: read.data?.user?.state,
  };
}
`;

/** Calls the document does not have: a path, a path parameter, a body field of the wrong type. */
const WRONG_CLIENT = `
import createClient from "openapi-fetch";
import type { paths } from "./api.js";

const client = createClient<paths>({ baseUrl: "http://localhost" });
await client.POST("/v2/users/{userId}/lockk", { params: { path: { userId: "1" } }, body: {} });
await client.POST("/v2/users/{userId}/lock", { params: { path: { user: "1" } }, body: {} });
await client.POST("/zus/v1/users/{userId}/lock", { params: { path: { userId: "1" } }, body: { reason: 42 } });
`;

/** tsc's strict diagnostics for the sources (one program for all), as "line: message" a file name. */
function typecheck(sources: Record<string, string>): Record<string, string[]> {
  const files = Object.entries(sources).map(([name, source]) => {
    writeFileSync(join(dir, name), source);
    return join(dir, name);
  });
  const program = ts.createProgram(files, {
    strict: true,
    noEmit: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    types: [],
  });
  const diagnostics = Object.fromEntries(Object.keys(sources).map((name) => [name, [] as string[]]));
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const name = d.file ? d.file.fileName.slice(dir.length + 1) : "(options)";
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line + 1 : 0;
    (diagnostics[name] ??= []).push(`${line}: ${ts.flattenDiagnosticMessageText(d.messageText, "\n")}`);
  }
  return diagnostics;
}

let checked: Record<string, string[]>;
beforeAll(() => {
  checked = typecheck({ "client.ts": CLIENT, "wrong.ts": WRONG_CLIENT });
});

it("the generated types refuse a wrong path, path parameter or body field type", () => {
  const errors = checked["wrong.ts"]!;
  // One error on each of the three calls (lines 6, 7 and 8 of WRONG_CLIENT).
  expect(errors.map((e) => e.split(":")[0]).sort(), errors.join("\n")).toEqual(["6", "7", "8"]);
  expect(Object.keys(checked).sort()).toEqual(["client.ts", "wrong.ts"]);
});

it("a client generated from the document creates, locks, reads a second lock's error and unlocks, on a real server", async () => {
  expect(checked["client.ts"]).toEqual([]);
  // Run as the app would: the checked source, types removed.
  const js = ts.transpileModule(CLIENT, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
  writeFileSync(join(dir, "client.mjs"), js);
  const { lockTwice } = await import(pathToFileURL(join(dir, "client.mjs")).href);
  const result = await lockTwice(server.baseUrl, server.adminToken, `ada-${Date.now()}@example.com`);

  expect(result.added).toEqual({ status: 201, userId: expect.stringMatching(/^\d{18}$/), sequence: "1" });
  expect(result.locked).toEqual({ status: 200, sequence: "2", changeDate: expect.stringMatching(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/) });
  // SPEC §3 and §5: LockUser on a locked user is FailedPrecondition, HTTP 400, grpc-gateway's body.
  expect(result.again).toEqual({
    status: 400,
    code: 9,
    message: "User is not active or initial (COMMAND-lgws8wtsqf)",
    detailCount: 1,
    detail: { type: "type.googleapis.com/zitadel.v1.ErrorDetail", id: "COMMAND-lgws8wtsqf", message: "User is not active or initial" },
  });
  expect(result.unlocked).toEqual({ status: 200, sequence: "3" });
  // A human added without a password is INITIAL, and unlocking gives back the state before the lock.
  expect(result.state).toBe("USER_STATE_INITIAL");
});

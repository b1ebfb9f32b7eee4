/**
 * zitadel.action.v2.ActionService (EXTENSIONS.md §3) against a real server over gRPC, gRPC-Web,
 * Connect and REST: targets created, read, listed, updated (signing key replaced on request) and
 * deleted; executions set, listed, filtered and removed; PermissionDenied for an ORG_OWNER; and
 * InvalidArgument naming the field, with nothing stored, for what this server does not serve
 * (rest_call, JWT and JWE payloads, request, response and function conditions), for endpoints
 * outside the outbound allow-list, and for bad input. Then ZITADEL's JSON over REST member by
 * member, a server whose OUTBOUND_URL_ALLOW admits http://127.0.0.1, and a log without keys.
 */
import { randomUUID } from "node:crypto";
import { create, fromJson, toJson, type DescMessage, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  ActionService,
  CreateTargetRequestSchema,
  CreateTargetResponseSchema,
  DeleteTargetResponseSchema,
  GetTargetResponseSchema,
  ListExecutionsRequestSchema,
  ListExecutionsResponseSchema,
  ListTargetsRequestSchema,
  ListTargetsResponseSchema,
  SetExecutionRequestSchema,
  SetExecutionResponseSchema,
  UpdateTargetRequestSchema,
  UpdateTargetResponseSchema,
  type CreateTargetRequest,
} from "../gen/zitadel/action/v2/action_service_pb.js";
import type { Execution } from "../gen/zitadel/action/v2/execution_pb.js";
import { ExecutionFieldName, ExecutionType, TargetFieldName } from "../gen/zitadel/action/v2/query_pb.js";
import { PayloadType, RESTAsyncSchema, RESTCallSchema, RESTWebhookSchema } from "../gen/zitadel/action/v2/target_pb.js";
import { TextFilterMethod } from "../gen/zitadel/filter/v2/filter_pb.js";
import { PROTOCOLS, transport, type Protocol } from "./support/clients.js";
import { query } from "./support/db.js";
import { addMachine, addOrg } from "./support/fixtures.js";
import { startServer, type TestServer } from "./support/server.js";

let server: TestServer;
/** An administrator of one organization: no action permissions. */
let orgOwner: { userId: string; token: string };
/** Every signing key the server has shown, to look for in its log at the end. */
const shownKeys = new Set<string>();

beforeAll(async () => {
  server = await startServer();
  orgOwner = await addMachine(server, await addOrg(server), "ORG_OWNER");
});
afterAll(() => server?.stop());

type Way = Protocol | "rest";
const WAYS: Way[] = [...PROTOCOLS, "rest"];

type Req<S extends DescMessage> = MessageInitShape<S>;
type Res<S extends DescMessage> = MessageShape<S>;

/**
 * The service's seven calls, the same over every way. Over REST each is sent as ZITADEL's JSON to
 * its google.api.http path, and an error answer becomes the ConnectError it stands for.
 */
function actions(way: Way, token = server.adminToken, baseUrl = server.baseUrl) {
  if (way !== "rest") return createClient(ActionService, transport(way, baseUrl, token));
  async function call<I extends DescMessage, O extends DescMessage>(method: string, path: string, input: I | undefined, req: Req<I> | undefined, output: O, omit?: string): Promise<Res<O>> {
    const json = input && req ? (toJson(input, create(input, req)) as Record<string, unknown>) : undefined;
    if (json && omit) delete json[omit];
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: json && JSON.stringify(json),
    });
    const body = (await res.json()) as { code: Code; message: string };
    if (res.status !== 200) throw new ConnectError(body.message, body.code);
    return fromJson(output, body as never);
  }
  const id = (value: string | undefined) => encodeURIComponent(value ?? "");
  return {
    createTarget: (req: Req<typeof CreateTargetRequestSchema>) => call("POST", "/v2/actions/targets", CreateTargetRequestSchema, req, CreateTargetResponseSchema),
    updateTarget: (req: Req<typeof UpdateTargetRequestSchema>) =>
      call("POST", `/v2/actions/targets/${id(req.id)}`, UpdateTargetRequestSchema, req, UpdateTargetResponseSchema, "id"),
    deleteTarget: (req: { id: string }) => call("DELETE", `/v2/actions/targets/${id(req.id)}`, undefined, undefined, DeleteTargetResponseSchema),
    getTarget: (req: { id: string }) => call("GET", `/v2/actions/targets/${id(req.id)}`, undefined, undefined, GetTargetResponseSchema),
    listTargets: (req: Req<typeof ListTargetsRequestSchema>) => call("POST", "/v2/actions/targets/search", ListTargetsRequestSchema, req, ListTargetsResponseSchema),
    setExecution: (req: Req<typeof SetExecutionRequestSchema>) => call("PUT", "/v2/actions/executions", SetExecutionRequestSchema, req, SetExecutionResponseSchema),
    listExecutions: (req: Req<typeof ListExecutionsRequestSchema>) =>
      call("POST", "/v2/actions/executions/search", ListExecutionsRequestSchema, req, ListExecutionsResponseSchema),
  };
}

/** Asserts a call failed with this code and exactly this message. */
async function expectFailure(call: Promise<unknown>, code: Code, message: string) {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, "the call should have failed").toBeInstanceOf(ConnectError);
  expect(Code[(err as ConnectError).code]).toBe(Code[code]);
  expect((err as ConnectError).rawMessage).toBe(message);
}

/** Every stored target and execution, to show that a refused call changed nothing. */
async function stored() {
  const [targets, executions] = await Promise.all([
    query(server, "select * from action_targets order by id"),
    query(server, "select * from action_executions order by condition_id, position"),
  ]);
  return JSON.stringify({ targets, executions });
}

type TargetFields = Pick<CreateTargetRequest, "name" | "targetType" | "timeout" | "endpoint" | "payloadType">;
const webhook = (overrides: Partial<TargetFields> = {}): Req<typeof CreateTargetRequestSchema> => {
  const fields: TargetFields = {
    name: `hook-${randomUUID()}`,
    targetType: { case: "restWebhook", value: create(RESTWebhookSchema, { interruptOnError: true }) },
    timeout: durationFromMs(10_000),
    endpoint: "https://hooks.example.com/zitadel",
    payloadType: PayloadType.JSON,
  };
  return { ...fields, ...overrides };
};
const asyncTarget = () => webhook({ targetType: { case: "restAsync", value: create(RESTAsyncSchema) } });

const onEvent = (event: string) => ({ conditionType: { case: "event" as const, value: { condition: { case: "event" as const, value: event } } } });
const onGroup = (group: string) => ({ conditionType: { case: "event" as const, value: { condition: { case: "group" as const, value: group } } } });
const onAll = { conditionType: { case: "event" as const, value: { condition: { case: "all" as const, value: true } } } };

/** An execution as [its event condition, its targets]. */
function summary(execution: Execution) {
  const { conditionType } = execution.condition!;
  if (conditionType.case !== "event") throw new Error(`not an event condition: ${conditionType.case}`);
  const { condition } = conditionType.value;
  return [`${condition.case}:${String(condition.value)}`, execution.targets];
}

const BY_ID = { sortingColumn: ExecutionFieldName.ID, pagination: { asc: true } };

/** Each test starts without executions (they are the server's, not the test's). */
afterEach(async () => {
  const client = actions("connect-json");
  const { executions } = await client.listExecutions({ pagination: { limit: 1000 } });
  for (const execution of executions) await client.setExecution({ condition: execution.condition, targets: [] });
});

describe.each(WAYS)("over %s", (way) => {
  it("creates, reads, lists, updates and deletes a target; the signing key is shown, and replaced when asked", async () => {
    const client = actions(way);
    const request = webhook();
    const created = await client.createTarget(request);
    expect(created.id).toMatch(/^[0-9]{18}$/);
    expect(created.signingKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    shownKeys.add(created.signingKey);
    const createdAt = timestampDate(created.creationDate!);
    expect(Math.abs(createdAt.getTime() - Date.now())).toBeLessThan(60_000);

    const { target } = await client.getTarget({ id: created.id });
    expect(target).toMatchObject({
      id: created.id,
      name: request.name,
      targetType: { case: "restWebhook", value: { interruptOnError: true } },
      timeout: { seconds: 10n, nanos: 0 },
      endpoint: "https://hooks.example.com/zitadel",
      signingKey: created.signingKey,
      payloadType: PayloadType.JSON,
    });
    expect(timestampDate(target!.creationDate!)).toEqual(createdAt);
    expect(timestampDate(target!.changeDate!)).toEqual(createdAt);

    const listed = await client.listTargets({ filters: [{ filter: { case: "inTargetIdsFilter", value: { targetIds: [created.id] } } }] });
    expect(listed.pagination).toMatchObject({ totalResult: 1n, appliedLimit: 100n });
    expect(listed.targets).toEqual([target]);

    // An update changes what it sets; UNSPECIFIED leaves the payload type, and the key stays.
    const renamed = `renamed-${randomUUID()}`;
    const updated = await client.updateTarget({
      id: created.id,
      name: renamed,
      targetType: { case: "restAsync", value: {} },
      timeout: durationFromMs(1500),
      endpoint: "https://hooks.example.com/other",
    });
    expect(updated.signingKey).toBeUndefined();
    const changedAt = timestampDate(updated.changeDate!);
    expect(changedAt.getTime()).toBeGreaterThanOrEqual(createdAt.getTime());
    expect((await client.getTarget({ id: created.id })).target).toMatchObject({
      name: renamed,
      targetType: { case: "restAsync" },
      timeout: { seconds: 1n, nanos: 500_000_000 },
      endpoint: "https://hooks.example.com/other",
      signingKey: created.signingKey,
      payloadType: PayloadType.JSON,
    });

    // Nothing to change: the stored change date, no key.
    const unchanged = await client.updateTarget({ id: created.id, name: renamed });
    expect(timestampDate(unchanged.changeDate!)).toEqual(changedAt);
    expect(unchanged.signingKey).toBeUndefined();

    // expiration_signing_key 0s: a new key at once, answered and shown from then on.
    const rotated = await client.updateTarget({ id: created.id, expirationSigningKey: durationFromMs(0) });
    expect(rotated.signingKey).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(rotated.signingKey).not.toBe(created.signingKey);
    shownKeys.add(rotated.signingKey!);
    expect((await client.getTarget({ id: created.id })).target!.signingKey).toBe(rotated.signingKey);

    const deleted = await client.deleteTarget({ id: created.id });
    expect(deleted.deletionDate).toBeDefined();
    await expectFailure(client.getTarget({ id: created.id }), Code.NotFound, "Target not found (QUERY-hj5oaniyrz)");
    await expectFailure(client.updateTarget({ id: created.id, name: "x" }), Code.NotFound, "Target not found (COMMAND-xj14f2cccn)");
    expect((await client.deleteTarget({ id: created.id })).deletionDate, "deleting it again is no error").toBeUndefined();
  });

  it("sets, lists, filters and removes executions; a deleted target leaves them", async () => {
    const client = actions(way);
    const a = await client.createTarget(webhook());
    const b = await client.createTarget(asyncTarget());
    const first = await client.setExecution({ condition: onEvent("user.locked"), targets: [a.id, b.id] });
    expect(first.setDate).toBeDefined();
    await client.setExecution({ condition: onGroup("user"), targets: [b.id] });
    await client.setExecution({ condition: onAll, targets: [a.id] });

    const all = await client.listExecutions(BY_ID);
    expect(all.pagination).toMatchObject({ totalResult: 3n, appliedLimit: 100n });
    expect(all.executions.map(summary)).toEqual([
      ["all:true", [a.id]],
      ["group:user", [b.id]],
      ["event:user.locked", [a.id, b.id]],
    ]);
    const locked = all.executions[2]!;
    expect(timestampDate(locked.creationDate!)).toEqual(timestampDate(first.setDate!));

    const withA = await client.listExecutions({ ...BY_ID, filters: [{ filter: { case: "targetFilter", value: { targetId: a.id } } }] });
    expect(withA.executions.map(summary)).toEqual([
      ["all:true", [a.id]],
      ["event:user.locked", [a.id, b.id]],
    ]);
    const byCondition = await client.listExecutions({ filters: [{ filter: { case: "inConditionsFilter", value: { conditions: [onEvent("user.locked"), onGroup("user.*")] } } }], ...BY_ID });
    expect(byCondition.executions.map(summary)).toEqual([
      ["group:user", [b.id]],
      ["event:user.locked", [a.id, b.id]],
    ]);
    const ofType = (executionType: ExecutionType) => client.listExecutions({ filters: [{ filter: { case: "executionTypeFilter", value: { executionType } } }] });
    expect((await ofType(ExecutionType.EVENT)).pagination!.totalResult).toBe(3n);
    expect((await ofType(ExecutionType.REQUEST)).pagination!.totalResult).toBe(0n);
    const page = await client.listExecutions({ sortingColumn: ExecutionFieldName.ID, pagination: { asc: true, offset: 1n, limit: 1 } });
    expect(page.pagination).toMatchObject({ totalResult: 3n, appliedLimit: 1n });
    expect(page.executions.map(summary)).toEqual([["group:user", [b.id]]]);

    // The same targets again change nothing: the date of the change that set them.
    expect(timestampDate((await client.setExecution({ condition: onEvent("user.locked"), targets: [a.id, b.id] })).setDate!)).toEqual(timestampDate(first.setDate!));
    const before = await stored();
    await expectFailure(client.setExecution({ condition: onEvent("user.locked"), targets: [a.id, "999999999999999999"] }), Code.NotFound, "Target not found (COMMAND-17e8fq1ggk)");
    expect(await stored()).toBe(before);

    // An empty list removes the execution; deleting a target takes it out of the others.
    await client.setExecution({ condition: onEvent("user.locked"), targets: [] });
    await client.deleteTarget({ id: a.id });
    expect((await client.listExecutions(BY_ID)).executions.map(summary)).toEqual([["group:user", [b.id]]]);
  });

  it("refuses every call of an ORG_OWNER with PermissionDenied, and stores nothing", async () => {
    const admin = actions(way);
    const target = await admin.createTarget(webhook());
    const before = await stored();
    const stranger = actions(way, orgOwner.token);
    const denied = (call: Promise<unknown>) => expectFailure(call, Code.PermissionDenied, "No matching permissions found (AUTH-AWfge)");
    await denied(stranger.createTarget(webhook()));
    await denied(stranger.updateTarget({ id: target.id, expirationSigningKey: durationFromMs(0) }));
    await denied(stranger.deleteTarget({ id: target.id }));
    await denied(stranger.getTarget({ id: target.id }));
    await denied(stranger.listTargets({}));
    await denied(stranger.setExecution({ condition: onEvent("user.locked"), targets: [target.id] }));
    await denied(stranger.listExecutions({}));
    expect(await stored()).toBe(before);
  });

  it("refuses what it does not serve, endpoints outside the allow-list and bad input with InvalidArgument naming the field, storing nothing", async () => {
    const client = actions(way);
    const target = await client.createTarget(webhook());
    const before = await stored();
    const invalid = (call: Promise<unknown>, message: string) => expectFailure(call, Code.InvalidArgument, message);

    // Target types, payload types.
    await invalid(
      client.createTarget(webhook({ targetType: { case: "restCall", value: create(RESTCallSchema, { interruptOnError: true }) } })),
      "invalid CreateTargetRequest.RestCall: rest_call targets are not supported by this server, only rest_webhook and rest_async",
    );
    await invalid(
      client.updateTarget({ id: target.id, targetType: { case: "restCall", value: {} } }),
      "invalid UpdateTargetRequest.RestCall: rest_call targets are not supported by this server, only rest_webhook and rest_async",
    );
    for (const [payloadType, name] of [
      [PayloadType.JWT, "PAYLOAD_TYPE_JWT"],
      [PayloadType.JWE, "PAYLOAD_TYPE_JWE"],
    ] as const) {
      await invalid(client.createTarget(webhook({ payloadType })), `invalid CreateTargetRequest.PayloadType: ${name} is not supported by this server, only PAYLOAD_TYPE_JSON`);
      await invalid(client.updateTarget({ id: target.id, payloadType }), `invalid UpdateTargetRequest.PayloadType: ${name} is not supported by this server, only PAYLOAD_TYPE_JSON`);
    }
    await invalid(client.createTarget(webhook({ targetType: { case: undefined } })), "invalid CreateTargetRequest.TargetType: value is required");

    // The outbound allow-list (the server has no OUTBOUND_URL_ALLOW: https to public hosts only).
    for (const [url, reason] of [
      ["http://hooks.example.com/zitadel", "only https:// URLs are allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://127.0.0.1:8443/", "127.0.0.1 is a loopback address, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://localhost/", "localhost is a loopback name, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://[::1]/", "::1 is a loopback address, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://10.20.30.40/", "10.20.30.40 is a private address, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address, not allowed (see OUTBOUND_URL_ALLOW)"],
      ["hooks.example.com", "not an absolute http:// or https:// URL"],
    ]) {
      await invalid(client.createTarget(webhook({ endpoint: url })), `invalid CreateTargetRequest.Endpoint: ${reason}`);
      await invalid(client.updateTarget({ id: target.id, endpoint: url }), `invalid UpdateTargetRequest.Endpoint: ${reason}`);
    }

    // ZITADEL's own rules.
    await invalid(client.createTarget(webhook({ name: "" })), "invalid CreateTargetRequest.Name: value length must be between 1 and 1000 runes, inclusive");
    await invalid(client.createTarget(webhook({ timeout: undefined })), "Target has no timeout (COMMAND-39f35d8uri)");
    await invalid(client.createTarget(webhook({ timeout: durationFromMs(270_001) })), "invalid CreateTargetRequest.Timeout: value must be less than or equal to 4m30s");
    await invalid(client.createTarget(webhook({ timeout: durationFromMs(-1000) })), "invalid CreateTargetRequest.Timeout: value must be greater than or equal to 0s");
    await invalid(client.updateTarget({ id: target.id, timeout: durationFromMs(0) }), "Target has no timeout (COMMAND-08b39vdi57)");
    await invalid(client.updateTarget({ id: target.id, expirationSigningKey: durationFromMs(5000) }), "invalid UpdateTargetRequest.ExpirationSigningKey: value must equal 0s");
    await invalid(client.getTarget({ id: "1".repeat(201) }), "invalid GetTargetRequest.Id: value length must be between 1 and 200 runes, inclusive");

    // Conditions other than events; malformed ones.
    const set = (condition: Req<typeof SetExecutionRequestSchema>["condition"], targets = [target.id]) => client.setExecution({ condition, targets });
    await invalid(set({ conditionType: { case: "request", value: { condition: { case: "method", value: "/zitadel.user.v2.UserService/LockUser" } } } }), "invalid Condition.Request: request conditions are not supported by this server, only event conditions");
    await invalid(set({ conditionType: { case: "response", value: { condition: { case: "all", value: true } } } }), "invalid Condition.Response: response conditions are not supported by this server, only event conditions");
    await invalid(set({ conditionType: { case: "function", value: { name: "preuserinfo" } } }), "invalid Condition.Function: function conditions are not supported by this server, only event conditions");
    await invalid(set(undefined), "Execution condition is invalid (ACTION-5r5Ju)");
    await invalid(set({ conditionType: { case: "event", value: { condition: { case: "all", value: false } } } }), "invalid EventExecution.All: value must equal true");
    await invalid(set(onEvent("user.locked"), [target.id, target.id]), "invalid SetExecutionRequest.Targets[1]: repeated value must contain unique items");
    await expectFailure(set(onEvent("user.teleported")), Code.NotFound, "Execution condition is invalid (COMMAND-74aaqj8fv9)");

    // Lists.
    await invalid(client.listTargets({ pagination: { limit: 1001 } }), "Limit exceeded (QUERY-4M0fs)");
    await invalid(client.listTargets({ filters: [{}] }), "invalid TargetSearchFilter.Filter: value is required");
    await invalid(
      client.listExecutions({ filters: [{ filter: { case: "inConditionsFilter", value: { conditions: [{ conditionType: { case: "function", value: { name: "x" } } }] } } }] }),
      "invalid Condition.Function: function conditions are not supported by this server, only event conditions",
    );
    await invalid(client.listExecutions({ sortingColumn: 9 as ExecutionFieldName }), "invalid ListExecutionsRequest.SortingColumn: value must be one of the defined enum values");

    expect(await stored()).toBe(before);
  });

  it("lists targets by name and sorted, and refuses a name another target has", async () => {
    const client = actions(way);
    const prefix = `list-${randomUUID()}`;
    for (const suffix of ["b", "a", "C"]) await client.createTarget(webhook({ name: `${prefix}-${suffix}` }));
    const byName = (method: TextFilterMethod, value: string, sortingColumn = TargetFieldName.NAME) =>
      client.listTargets({ sortingColumn, pagination: { asc: true }, filters: [{ filter: { case: "targetNameFilter", value: { targetName: value, method } } }] });
    expect((await byName(TextFilterMethod.STARTS_WITH, prefix)).targets.map((t) => t.name)).toEqual([`${prefix}-C`, `${prefix}-a`, `${prefix}-b`]);
    expect((await byName(TextFilterMethod.EQUALS_IGNORE_CASE, `${prefix}-c`)).targets.map((t) => t.name)).toEqual([`${prefix}-C`]);
    expect((await byName(TextFilterMethod.EQUALS, `${prefix}-c`)).targets).toEqual([]);
    await expectFailure(client.createTarget(webhook({ name: `${prefix}-a` })), Code.AlreadyExists, "Errors.Target.AlreadyExists (V3-DKcYh)");
  });
});

describe("over REST, ZITADEL's JSON", () => {
  const rest = async (method: string, path: string, body?: unknown, token = server.adminToken) => {
    const res = await fetch(`${server.baseUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  const TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

  it("answers each path with ZITADEL's members, and its errors in grpc-gateway's shape", async () => {
    const name = `ip_allow_list-${randomUUID()}`;
    const created = await rest("POST", "/v2/actions/targets", { name, restWebhook: { interruptOnError: true }, timeout: "10s", endpoint: "https://example.com/hooks/ip_check", payloadType: "PAYLOAD_TYPE_JSON" });
    expect(created.status).toBe(200);
    expect(Object.keys(created.json).sort()).toEqual(["creationDate", "id", "signingKey"]);
    expect(created.json.creationDate).toMatch(TIME);
    const id = created.json.id as string;
    shownKeys.add(created.json.signingKey as string);

    const got = await rest("GET", `/v2/actions/targets/${id}`);
    expect(got.json).toEqual({
      target: {
        id,
        creationDate: created.json.creationDate,
        changeDate: created.json.creationDate,
        name,
        restWebhook: { interruptOnError: true },
        timeout: "10s",
        endpoint: "https://example.com/hooks/ip_check",
        signingKey: created.json.signingKey,
        payloadType: "PAYLOAD_TYPE_JSON",
      },
    });

    const updated = await rest("POST", `/v2/actions/targets/${id}`, { restAsync: {}, expirationSigningKey: "0s" });
    expect(Object.keys(updated.json).sort()).toEqual(["changeDate", "signingKey"]);
    shownKeys.add(updated.json.signingKey as string);

    const set = await rest("PUT", "/v2/actions/executions", { condition: { event: { event: "user.locked" } }, targets: [id] });
    expect(Object.keys(set.json)).toEqual(["setDate"]);
    const executions = await rest("POST", "/v2/actions/executions/search", { filters: [{ targetFilter: { targetId: id } }] });
    expect(executions.json).toEqual({
      pagination: { totalResult: "1", appliedLimit: "100" },
      executions: [{ condition: { event: { event: "user.locked" } }, creationDate: set.json.setDate, changeDate: set.json.setDate, targets: [id] }],
    });
    const targets = await rest("POST", "/v2/actions/targets/search", { filters: [{ inTargetIdsFilter: { targetIds: [id] } }], sortingColumn: "TARGET_FIELD_NAME_NAME" });
    expect(targets.json).toMatchObject({ pagination: { totalResult: "1", appliedLimit: "100" }, targets: [{ id, restAsync: {}, signingKey: updated.json.signingKey }] });

    expect(await rest("PUT", "/v2/actions/executions", { condition: { request: { all: true } }, targets: [id] })).toEqual({
      status: 400,
      json: { code: 3, message: "invalid Condition.Request: request conditions are not supported by this server, only event conditions", details: [] },
    });
    expect(await rest("POST", "/v2/actions/targets", { name: "x", restCall: {}, timeout: "1s", endpoint: "https://example.com" })).toMatchObject({
      status: 400,
      json: { code: 3, message: "invalid CreateTargetRequest.RestCall: rest_call targets are not supported by this server, only rest_webhook and rest_async" },
    });
    expect(await rest("GET", `/v2/actions/targets/${id}`, undefined, orgOwner.token)).toMatchObject({ status: 403, json: { code: 7, message: "No matching permissions found (AUTH-AWfge)" } });

    const deleted = await rest("DELETE", `/v2/actions/targets/${id}`);
    expect(deleted.json.deletionDate).toMatch(TIME);
    expect(await rest("GET", `/v2/actions/targets/${id}`)).toMatchObject({
      status: 404,
      json: { code: 5, message: "Target not found (QUERY-hj5oaniyrz)", details: [{ "@type": "type.googleapis.com/zitadel.v1.ErrorDetail", id: "QUERY-hj5oaniyrz", message: "Target not found" }] },
    });
  });
});

describe("a server with OUTBOUND_URL_ALLOW=http://127.0.0.1", () => {
  let local: TestServer;
  beforeAll(async () => {
    local = await startServer({ env: { OUTBOUND_URL_ALLOW: "http://127.0.0.1" } });
  });
  afterAll(() => local?.stop());

  it.each(WAYS)("accepts a plain HTTP endpoint on any port of 127.0.0.1 over %s, and still refuses the rest", async (way) => {
    const client = actions(way, local.adminToken, local.baseUrl);
    const endpoint = `http://127.0.0.1:${local.port}/receiver`;
    const created = await client.createTarget(webhook({ endpoint }));
    shownKeys.add(created.signingKey);
    expect((await client.getTarget({ id: created.id })).target!.endpoint).toBe(endpoint);
    const invalid = (url: string, reason: string) => expectFailure(client.createTarget(webhook({ endpoint: url })), Code.InvalidArgument, `invalid CreateTargetRequest.Endpoint: ${reason}`);
    await invalid("http://127.0.0.2:8080/", "only https:// URLs are allowed (see OUTBOUND_URL_ALLOW)");
    await invalid("http://localhost:8080/", "only https:// URLs are allowed (see OUTBOUND_URL_ALLOW)");
    await invalid("https://10.0.0.1/", "10.0.0.1 is a private address, not allowed (see OUTBOUND_URL_ALLOW)");
  });

  it("never writes a signing key to its log", () => {
    expect(shownKeys.size).toBeGreaterThan(WAYS.length * 2);
    for (const log of [server.output(), local.output()]) {
      expect(log).toContain('"msg":"call"');
      for (const key of shownKeys) expect(log).not.toContain(key);
    }
  });
});

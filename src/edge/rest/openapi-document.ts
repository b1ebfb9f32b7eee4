/**
 * The OpenAPI 3.1 document of the REST paths (issue 24), made from the same routes the server
 * dispatches (http-rules.ts, read from the protos' google.api.http annotations) and the
 * messages' descriptors, so it cannot drift from what is served. Served at GET /openapi.json
 * and committed as docs/openapi.json (`npm run openapi`).
 */
import type { DescMethod } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { ERROR_DETAIL_MESSAGES, httpStatusOf } from "./gateway-errors.js";
import { pathVariables, type RestRoute } from "./http-rules.js";
import { SchemaSet, type Schema } from "./openapi-schemas.js";
import { queryFields } from "./query-parameters.js";

export const OPENAPI_PATH = "/openapi.json";

const STATUS_SCHEMA = "google.rpc.Status";

/**
 * What any call can fail with before or after its own logic: a request it cannot read or
 * validate (400), a missing or invalid token (401), a body over the limit or too many failed
 * credentials from the address (429), an internal error (500), the database busy or
 * unreachable (503).
 */
const EVERY_CALL = [Code.InvalidArgument, Code.Unauthenticated, Code.ResourceExhausted, Code.Internal, Code.Unavailable];

/**
 * The further codes each method's implementation answers (src/app, src/domain): a state or an
 * organization that does not allow it, a missing permission, something not found (a user,
 * session or target, or one the caller may not read, SPEC §6), a name or id already taken. Bulk calls answer each user's
 * failure inside their success body. A method missing here stops the document from being made,
 * so a new REST route gets its entry.
 */
const FURTHER_CODES: Record<string, Code[]> = {
  "zitadel.user.v2.UserService.AddHumanUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.AlreadyExists],
  "zitadel.user.v2.UserService.GetUserByID": [Code.NotFound],
  "zitadel.user.v2.UserService.ListUsers": [],
  "zitadel.user.v2.UserService.DeactivateUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.user.v2.UserService.ReactivateUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.user.v2.UserService.LockUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.user.v2.UserService.UnlockUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.user.v2.UserService.DeleteUser": [Code.PermissionDenied, Code.NotFound],
  "zitadel.session.v2.SessionService.GetSession": [Code.PermissionDenied, Code.NotFound],
  "zitadel.session.v2.SessionService.CreateSession": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.session.v2.SessionService.SetSession": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zitadel.session.v2.SessionService.DeleteSession": [Code.PermissionDenied, Code.NotFound],
  "zitadel.settings.v2.SettingsService.GetLockoutSettings": [Code.FailedPrecondition, Code.PermissionDenied],
  "zus.user.v1.UserRecordService.LockUser": [Code.FailedPrecondition, Code.PermissionDenied, Code.NotFound],
  "zus.user.v1.UserRecordService.GetLockStatus": [Code.NotFound],
  "zus.user.v1.UserRecordService.ListUserEvents": [Code.NotFound],
  "zus.user.v1.UserRecordService.BulkLockUsers": [],
  "zus.user.v1.UserRecordService.BulkUnlockUsers": [],
  "zitadel.action.v2.ActionService.CreateTarget": [Code.PermissionDenied, Code.AlreadyExists],
  "zitadel.action.v2.ActionService.UpdateTarget": [Code.PermissionDenied, Code.NotFound, Code.AlreadyExists],
  "zitadel.action.v2.ActionService.DeleteTarget": [Code.PermissionDenied],
  "zitadel.action.v2.ActionService.GetTarget": [Code.PermissionDenied, Code.NotFound],
  "zitadel.action.v2.ActionService.ListTargets": [Code.PermissionDenied],
  "zitadel.action.v2.ActionService.SetExecution": [Code.PermissionDenied, Code.NotFound],
  "zitadel.action.v2.ActionService.ListExecutions": [Code.PermissionDenied],
  "zus.delivery.v1.DeliveryService.ListDestinations": [Code.PermissionDenied],
  "zus.delivery.v1.DeliveryService.ListParkedDeliveries": [Code.PermissionDenied],
  "zus.delivery.v1.DeliveryService.RetryParkedDeliveries": [Code.PermissionDenied],
  "zus.bench.v1.BenchService.Noop": [],
};

/** The document as served and committed: indented JSON, one trailing newline. */
export const openApiText = (routes: readonly RestRoute[]) => `${JSON.stringify(openApiDocument(routes), null, 2)}\n`;

export function openApiDocument(routes: readonly RestRoute[]) {
  const schemas = new SchemaSet();
  const responses: Record<string, unknown> = {};
  const paths: Record<string, Record<string, unknown>> = {
    [OPENAPI_PATH]: {
      get: {
        operationId: "OpenApiDocument",
        summary: "This document",
        security: [],
        responses: { "200": { description: "The OpenAPI document", content: { "application/json": { schema: { type: "object" } } } } },
      },
    },
  };
  for (const route of routes) {
    const path = (paths[openApiPath(route)] ??= {});
    path[route.verb.toLowerCase()] = operation(route, schemas, responses);
  }
  schemas.schemas[STATUS_SCHEMA] = statusSchema(schemas);
  return {
    openapi: "3.1.0",
    info: {
      title: "ZITADEL user-state service: REST",
      version: "v2",
      description:
        "ZITADEL's v2 user, session, settings and action REST paths and this server's own /zus/v1 paths, " +
        "generated from the protos' google.api.http annotations. Bodies are proto3 JSON; errors are grpc-gateway's body.",
    },
    security: [{ bearer: [] }],
    paths: sortedByKey(paths),
    components: {
      securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "A personal access token" } },
      schemas: sortedByKey(schemas.schemas),
      responses: sortedByKey(responses),
    },
  };
}

/** The proto template with each variable by its JSON name, as the document names the parameter. */
function openApiPath(route: RestRoute): string {
  const field = (name: string) => route.method.input.fields.find((f) => f.name === name)!;
  return route.segments.map((segment) => `/${"literal" in segment ? segment.literal : `{${field(segment.variable).jsonName}}`}`).join("");
}

function operation(route: RestRoute, schemas: SchemaSet, responses: Record<string, unknown>) {
  const { method } = route;
  const variables = pathVariables(route);
  const inPath = method.input.fields.filter((field) => variables.has(field.name));
  const parameters = [
    ...inPath.map((field) => ({ name: field.jsonName, in: "path", required: true, schema: schemas.fieldSchema(field) })),
    ...queryFields(route).map((field) => ({ name: field.jsonName, in: "query", required: false, schema: schemas.fieldSchema(field) })),
  ];
  // Path variables win over the body (rest-handler.ts), so the body is documented without them.
  const body = () => (variables.size > 0 ? schemas.objectSchema(method.input, variables) : schemas.messageRef(method.input));
  return {
    operationId: `${method.parent.name}_${method.name}`,
    tags: [method.parent.typeName],
    summary: `${method.parent.typeName}/${method.name}`,
    ...(parameters.length > 0 && { parameters }),
    ...(route.body === "*" && { requestBody: { required: false, content: { "application/json": { schema: body() } } } }),
    responses: {
      [String(route.successStatus)]: { description: "Success", content: { "application/json": { schema: schemas.messageRef(method.output) } } },
      ...errorResponses(method, responses),
    },
  };
}

/**
 * One response a status, a $ref to components/responses named by the codes it stands for
 * (e.g. InvalidArgumentOrFailedPrecondition), each the grpc-gateway error body.
 */
function errorResponses(method: DescMethod, shared: Record<string, unknown>): Record<string, unknown> {
  const further = FURTHER_CODES[`${method.parent.typeName}.${method.name}`];
  if (!further) throw new Error(`${method.parent.typeName}.${method.name}: add the codes it answers to FURTHER_CODES`);
  const byStatus = new Map<number, string[]>();
  for (const code of [...EVERY_CALL, ...further].sort((a, b) => a - b)) {
    const status = httpStatusOf(code);
    byStatus.set(status, [...(byStatus.get(status) ?? []), Code[code]]);
  }
  return Object.fromEntries(
    [...byStatus].sort(([a], [b]) => a - b).map(([status, names]) => {
      const name = names.join("Or");
      shared[name] = { description: names.join(", "), content: { "application/json": { schema: { $ref: `#/components/schemas/${STATUS_SCHEMA}` } } } };
      return [String(status), { $ref: `#/components/responses/${name}` }];
    }),
  );
}

/** The grpc-gateway error body (gateway-errors.ts): google.rpc.Status with its details as proto3 JSON Any. */
function statusSchema(schemas: SchemaSet): Schema {
  const details = ERROR_DETAIL_MESSAGES.map((message) => {
    const fields = schemas.objectSchema(message);
    return {
      ...fields,
      required: ["@type"],
      properties: { "@type": { const: `type.googleapis.com/${message.typeName}` }, ...(fields.properties as Schema) },
    };
  });
  return {
    type: "object",
    required: ["code", "message", "details"],
    properties: {
      code: { type: "integer", format: "int32", description: "The gRPC status code, e.g. 9 for FailedPrecondition" },
      message: { type: "string", description: 'ZITADEL\'s "<text> (<id>)"' },
      details: { type: "array", items: { oneOf: details } },
    },
    additionalProperties: false,
  };
}

const sortedByKey = <T>(record: Record<string, T>): Record<string, T> =>
  Object.fromEntries(Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

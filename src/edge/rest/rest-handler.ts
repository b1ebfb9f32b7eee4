/**
 * REST transcoding: a request on a google.api.http path becomes the method's request message,
 * which goes through the same interceptors and implementation as the other protocols' calls
 * (so authentication, validation and limits are the same), and its answer or error becomes
 * ZITADEL's REST answer.
 */
import { fromJson, toJson, type JsonReadOptions, type JsonValue } from "@bufbuild/protobuf";
import { Code, ConnectError, createContextValues } from "@connectrpc/connect";
import { CALL_REPORT } from "../../rpc/call-report.js";
import { empty, readAll } from "../../rpc/byte-streams.js";
import type { RpcHandlers } from "../../rpc/rpc-handlers.js";
import type { CallRecord } from "../call-record.js";
import { CallRequest, webHeaders, type NodeRequest, type NodeResponse } from "../universal-request.js";
import { gatewayError, httpStatusOf, plainGatewayError, type GatewayError } from "./gateway-errors.js";
import { matchPath, pathParts, type RestRoute } from "./http-rules.js";
import { QUERY_VALUES, queryFields } from "./query-parameters.js";
import { MAX_JSON_DEPTH, nestedDeeperThan } from "../json-depth.js";

export interface RestOptions {
  routes: RestRoute[];
  maxBodyBytes: number;
  /** As the RPC handlers read JSON (unknown fields refused). */
  jsonOptions: Partial<JsonReadOptions>;
  /** Calls the method with the decoded message. */
  unary: RpcHandlers["unary"];
}

/** Request headers that describe the REST request itself, or set a deadline REST calls do not have, and must not reach the call. */
const NOT_FORWARDED = new Set(["connect-timeout-ms", "content-type", "content-length", "content-encoding", "transfer-encoding", "connection", "host", "keep-alive", "accept-encoding"]);

export function createRestHandler(options: RestOptions) {
  /** Returns false when no REST route has this path, so the caller can answer 404. */
  return function serveRest(req: NodeRequest, res: NodeResponse, path: string, call: CallRecord): boolean {
    const parts = pathParts(path);
    const matches = options.routes.flatMap((route) => {
      const variables = matchPath(route, parts);
      return variables ? [{ route, variables }] : [];
    });
    if (matches.length === 0) return false;
    const match = matches.find(({ route }) => route.verb === req.method);
    if (!match) {
      res.setHeader("allow", matches.map(({ route }) => route.verb).join(", "));
      writeError(res, plainGatewayError(Code.Unimplemented, "Method Not Allowed"), 405);
      return true;
    }
    const { method } = match.route;
    call.method = `${method.parent.typeName}/${method.name}`;
    transcode(req, res, match.route, match.variables, call).catch((err: unknown) => {
      const error = err instanceof ConnectError ? gatewayError(err) : plainGatewayError(Code.Internal, "internal error");
      call.report.code = error.code;
      writeError(res, error);
    });
    return true;
  };

  async function transcode(
    req: NodeRequest,
    res: NodeResponse,
    route: RestRoute,
    variables: Map<string, string>,
    call: CallRecord,
  ): Promise<void> {
    const message = await requestMessage(req, route, variables);
    addQueryParameters(message, route, new URL(req.url ?? "/", "http://localhost").searchParams);
    const { method } = route;
    let input;
    try {
      input = fromJson(method.input, message as JsonValue, options.jsonOptions);
    } catch (err) {
      // As Connect-ES answers a JSON body it cannot read.
      throw ConnectError.from(err, Code.InvalidArgument);
    }
    const request = new CallRequest(
      {
        httpVersion: req.httpVersion,
        url: `http://localhost/${method.parent.typeName}/${method.name}`,
        method: "POST",
        header: webHeaders(req.headers, NOT_FORWARDED),
        body: empty(),
      },
      res,
    );
    request.contextValues = createContextValues().set(CALL_REPORT, call.report);
    const output = await options.unary(method, request, input);
    const body = JSON.stringify(toJson(method.output, output));
    call.report.code = 0;
    res.writeHead(route.successStatus, { "content-type": "application/json" });
    res.end(body);
  }

  async function requestMessage(req: NodeRequest, route: RestRoute, variables: Map<string, string>) {
    const raw = await readAll(req, options.maxBodyBytes, () =>
      new ConnectError(`request body larger than ${options.maxBodyBytes} bytes`, Code.ResourceExhausted),
    );
    const text = raw.toString("utf8").trim();
    let message: Record<string, unknown> = {};
    if (text !== "") {
      if (route.body !== "*") throw invalid(`${route.verb} ${route.template} takes no request body`);
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw invalid("request body is not valid JSON");
      }
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
        throw invalid("request body must be a JSON object");
      }
      if (nestedDeeperThan(parsed, MAX_JSON_DEPTH)) throw invalid(`request body nested deeper than ${MAX_JSON_DEPTH} levels`);
      message = parsed as Record<string, unknown>;
    }
    // Path variables win over the same field in the body.
    for (const [name, value] of variables) {
      const field = route.method.input.fields.find((f) => f.name === name)!;
      delete message[field.name];
      delete message[field.jsonName];
      message[field.jsonName] = value;
    }
    return message;
  }
}

/** Anything but a parameter queryFields allows, with a value of its type, is refused, so nothing is silently dropped. */
function addQueryParameters(message: Record<string, unknown>, route: RestRoute, query: URLSearchParams): void {
  const fields = queryFields(route);
  for (const [name, text] of query) {
    const field = fields.find((f) => f.name === name || f.jsonName === name);
    const value = field && QUERY_VALUES[field.scalar]!(text);
    if (!field || value === undefined || field.jsonName in message) throw invalid(`query parameter "${name}" is not supported`);
    message[field.jsonName] = value;
  }
}

const invalid = (message: string) => new ConnectError(message, Code.InvalidArgument);

export function writeError(res: NodeResponse, error: GatewayError, status = httpStatusOf(error.code)): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(error));
}

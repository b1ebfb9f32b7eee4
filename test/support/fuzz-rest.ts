/**
 * REST calls on the annotated routes with odd paths (percent-encoded NUL and 0xff, overlong
 * UTF-8, double encoding, `..`, very long ids, raw bytes), odd query strings, other verbs
 * and fuzzed bodies, and what a correct answer to one may be.
 */
import fc from "fast-check";
import { fromJson, type DescMessage, type JsonObject } from "@bufbuild/protobuf";
import { matchPath, pathParts } from "../../src/edge/rest/http-rules.js";
import { payload, randomBytes, type Payload } from "./fuzz-bytes.js";
import type { HttpRequest } from "./fuzz-http.js";
import { jsonBody } from "./fuzz-json.js";
import { REST_ROUTES } from "./fuzz-targets.js";

export interface RestCall {
  version: "1.1" | "2";
  verb: string;
  path: string;
  contentType: string | undefined;
  body: Payload;
}

const ODD_SEGMENTS = ["%00", "%ff", "%FF%FE", "%c0%af", "%e0%80%80", "%ed%a0%80", "%f8%88%80%80%80", "%2e%2e", "..", ".", "%252e%252e", "%252F", "%2f", "%5c", "%", "%zz", "%u0041", "+", "%20", ";x=1", "%3f", "%23", "%0d%0a", "~", "@:!$&'()*,="];

/** Bytes above 0x7f, which node:http writes into the request line as they are: never valid there. */
const RAW_BYTES = ["\u00ff", "\u00c0\u00af", "\u00e4"];

const VERBS = ["GET", "POST", "PUT", "PATCH", "DELETE"];

const QUERY_NAMES = [...new Set(REST_ROUTES.flatMap((route) => route.method.input.fields.flatMap((field) => [field.name, field.jsonName])))];

function segment(known: string[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.constantFrom(...known),
    fc.array(fc.oneof(fc.constantFrom(...ODD_SEGMENTS), fc.string({ unit: "grapheme", maxLength: 8 }).map(encodeURIComponent)), { minLength: 1, maxLength: 4 }).map((parts) => parts.join("")),
    fc.integer({ min: 201, max: 8_000 }).map((length) => "9".repeat(length)),
    fc.constantFrom(...RAW_BYTES),
  );
}

type PathTwist = "none" | "trailing-slash" | "double-slash" | "upper-case" | "dot-segment" | "extra-segment" | "drop-last";

const TWISTS: Record<PathTwist, (path: string) => string> = {
  none: (path) => path,
  "trailing-slash": (path) => `${path}/`,
  "double-slash": (path) => path.replace("/", "//"),
  "upper-case": (path) => path.replace(/[a-z]/g, (letter) => letter.toUpperCase()),
  "dot-segment": (path) => path.replace("/v2/", "/v2/./x/../"),
  "extra-segment": (path) => `${path}/extra`,
  "drop-last": (path) => path.slice(0, path.lastIndexOf("/")) || "/",
};

function query(known: string[]): fc.Arbitrary<string> {
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.constantFrom(...ODD_SEGMENTS)), segment(known)).map(([name, value]) => `${name}=${value}`);
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant("") },
    { weight: 2, arbitrary: fc.array(pair, { minLength: 1, maxLength: 3 }).map((pairs) => `?${pairs.join("&")}`) },
    { weight: 1, arbitrary: fc.constantFrom("?", "?&", "?=", "?%ff", "?a=%00&a=%00", "?userId", "?#") },
  );
}

export function restCall(strings: fc.Arbitrary<string>, known: string[]): fc.Arbitrary<RestCall> {
  return fc.nat(REST_ROUTES.length - 1).chain((index) => {
    const route = REST_ROUTES[index]!;
    const path = fc
      .tuple(...route.segments.map((part) => ("literal" in part ? fc.constant(part.literal) : segment(known))))
      .map((parts) => `/${parts.join("/")}`);
    return fc.record({
      version: fc.constantFrom("1.1" as const, "2" as const),
      verb: fc.oneof({ weight: 3, arbitrary: fc.constant(route.verb) }, { weight: 1, arbitrary: fc.constantFrom(...VERBS) }),
      path: fc.tuple(path, fc.constantFrom(...(Object.keys(TWISTS) as PathTwist[])), query(known)).map(([base, twist, q]) => TWISTS[twist](base) + q),
      contentType: fc.constantFrom("application/json", "application/json; charset=utf-8", "text/plain", "application/grpc", undefined),
      body: fc.oneof(fc.constant(new Uint8Array()), jsonBody(route.method, strings), randomBytes).map(payload),
    });
  });
}

export function restRequest(call: RestCall, headers: Record<string, string | string[]>): HttpRequest {
  const contentType: Record<string, string> = call.contentType === undefined ? {} : { "content-type": call.contentType };
  return { version: call.version, method: call.verb, path: call.path, headers: { ...contentType, ...headers }, body: call.body.bytes };
}

/** Node's HTTP/1.1 parser and nghttp2 refuse such request lines before the server's handler sees them. */
export const hasRawBytes = (call: RestCall) => /[^\x21-\x7e]/.test(call.path);

/**
 * The route the server picks (the first with this path and verb) and whether the call is
 * valid there: the body a JSON object or empty, path variables set over it, the result a
 * request message. Query parameters are not weighed: with them success stays possible.
 */
export function restExpectation(call: RestCall): { mayHaveSucceeded: boolean; output: DescMessage } {
  const path = call.path.split("?", 1)[0]!;
  for (const route of REST_ROUTES) {
    const variables = route.verb === call.verb ? matchPath(route, pathParts(path)) : undefined;
    if (!variables) continue;
    return { mayHaveSucceeded: validOn(route.method.input, route.body, variables, call.body.bytes), output: route.method.output };
  }
  return { mayHaveSucceeded: false, output: REST_ROUTES[0]!.method.output };
}

function validOn(input: DescMessage, bodyRule: string, variables: Map<string, string>, body: Uint8Array): boolean {
  try {
    const text = new TextDecoder().decode(body).trim();
    if (text !== "" && bodyRule !== "*") return false;
    const message = (text === "" ? {} : JSON.parse(text)) as JsonObject;
    if (message === null || typeof message !== "object" || Array.isArray(message)) return false;
    for (const [name, value] of variables) {
      const field = input.fields.find((f) => f.name === name)!;
      delete message[field.name];
      message[field.jsonName] = value;
    }
    fromJson(input, message);
    return true;
  } catch {
    return false;
  }
}

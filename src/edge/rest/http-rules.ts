/** REST routes read from the google.api.http annotations of the generated descriptors. */
import { getOption, hasOption, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { http } from "../../../gen/google/api/annotations_pb.js";
import { options as zitadelOptions } from "../../../gen/zitadel/protoc_gen_zitadel/v2/options_pb.js";

type Segment = { literal: string } | { variable: string };

export interface RestRoute {
  verb: string;
  /** The template as written in the proto, e.g. /v2/users/{user_id}/lock. */
  template: string;
  segments: Segment[];
  method: DescMethod;
  /** "*" maps the whole body onto the request; "" means the call takes no body. */
  body: string;
  /** The HTTP status of a successful answer: 200, or ZITADEL's http_response.success_code (201 for a create). */
  successStatus: number;
}

export function restRoutes(services: DescService[]): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (!hasOption(method, http)) continue;
      const rule = getOption(method, http);
      const { case: verb, value: template } = rule.pattern;
      if (verb !== "get" && verb !== "put" && verb !== "post" && verb !== "delete" && verb !== "patch") {
        throw new Error(`${method.name}: unsupported google.api.http pattern ${String(verb)}`);
      }
      if (rule.body !== "" && rule.body !== "*") throw new Error(`${method.name}: body "${rule.body}" is not supported`);
      const segments = parseTemplate(template, method);
      routes.push({ verb: verb.toUpperCase(), template, segments, method, body: rule.body, successStatus: successStatus(method) });
    }
  }
  // A path fits the first route it matches: literal segments before variables, so that
  // POST /v2/actions/targets/search is ListTargets and not UpdateTarget with the id "search".
  return routes.sort((a, b) => pathVariables(a).size - pathVariables(b).size);
}

function successStatus(method: DescMethod): number {
  return hasOption(method, zitadelOptions) ? getOption(method, zitadelOptions).httpResponse?.successCode || 200 : 200;
}

function parseTemplate(template: string, method: DescMethod): Segment[] {
  return template
    .split("/")
    .slice(1)
    .map((part) => {
      const variable = /^\{([a-z_][a-z0-9_]*)(=\*)?\}$/.exec(part)?.[1];
      if (!variable) {
        if (part.includes("{")) throw new Error(`${method.name}: unsupported path template ${template}`);
        return { literal: part };
      }
      if (!method.input.fields.some((field) => field.name === variable)) {
        throw new Error(`${method.name}: path variable ${variable} is not a field of ${method.input.name}`);
      }
      return { variable };
    });
}

/** The proto names of the fields the route's path sets. */
export const pathVariables = (route: Pick<RestRoute, "segments">): Set<string> =>
  new Set(route.segments.flatMap((segment) => ("variable" in segment ? [segment.variable] : [])));

/** A path's segments, as matchPath takes them: split once for every route it is matched against. */
export const pathParts = (path: string): string[] => path.split("/").slice(1);

/** The path variables when the path's parts (pathParts) fit the route's template, else undefined. */
export function matchPath(route: RestRoute, parts: string[]): Map<string, string> | undefined {
  if (parts.length !== route.segments.length) return undefined;
  // Every literal first: most routes a path is tried against differ in one, and need no decoding.
  const fits = route.segments.every((segment, i) => ("literal" in segment ? parts[i] === segment.literal : parts[i] !== ""));
  if (!fits) return undefined;
  const variables = new Map<string, string>();
  for (const [i, segment] of route.segments.entries()) {
    if ("literal" in segment) continue;
    try {
      variables.set(segment.variable, decodeURIComponent(parts[i]!));
    } catch {
      return undefined;
    }
  }
  return variables;
}

/**
 * As grpc-gateway does for calls without a body: a query parameter sets a top-level string,
 * bool or uint32 field of the request (e.g. GET /v2/sessions/{id}?sessionToken=…), by its proto
 * or JSON name. The REST handler reads them and the OpenAPI document lists them, from here.
 */
import { ScalarType, type DescField } from "@bufbuild/protobuf";
import { pathVariables, type RestRoute } from "./http-rules.js";

/** The scalar types a query parameter can set, and how its text becomes the field's JSON value (undefined: not a value of the type). */
export const QUERY_VALUES: Partial<Record<ScalarType, (text: string) => unknown>> = {
  [ScalarType.STRING]: (text) => text,
  [ScalarType.BOOL]: (text) => (text === "true" ? true : text === "false" ? false : undefined),
  // fromJson checks the range.
  [ScalarType.UINT32]: (text) => (/^[0-9]{1,10}$/.test(text) ? Number(text) : undefined),
};

/** The fields a query parameter may set on this route: none when it takes a body, and never a path variable's. */
export function queryFields(route: RestRoute): (DescField & { fieldKind: "scalar" })[] {
  if (route.body !== "") return [];
  const variables = pathVariables(route);
  return route.method.input.fields.filter(
    (field): field is DescField & { fieldKind: "scalar" } => field.fieldKind === "scalar" && QUERY_VALUES[field.scalar] !== undefined && !variables.has(field.name),
  );
}

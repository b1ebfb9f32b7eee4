/**
 * JSON Schemas (OpenAPI 3.1) of protobuf messages in their proto3 JSON form, as the REST paths
 * read and write them (toJson/fromJson): lowerCamelCase names, 64-bit integers as strings, enums
 * by name, Timestamp as an RFC 3339 string, Duration as "1.5s". Walks the protobuf-es
 * descriptors; every message and enum becomes one entry of components/schemas named by its full
 * proto name, referred to with $ref.
 */
import { ScalarType, type DescEnum, type DescField, type DescMessage } from "@bufbuild/protobuf";

export type Schema = Record<string, unknown>;

/** 64-bit integers are strings in proto3 JSON (JavaScript numbers cannot hold them). */
const SCALARS: Record<ScalarType, Schema> = {
  [ScalarType.STRING]: { type: "string" },
  [ScalarType.BYTES]: { type: "string", contentEncoding: "base64" },
  [ScalarType.BOOL]: { type: "boolean" },
  [ScalarType.INT32]: { type: "integer", format: "int32" },
  [ScalarType.SINT32]: { type: "integer", format: "int32" },
  [ScalarType.SFIXED32]: { type: "integer", format: "int32" },
  [ScalarType.UINT32]: { type: "integer", minimum: 0, maximum: 4294967295 },
  [ScalarType.FIXED32]: { type: "integer", minimum: 0, maximum: 4294967295 },
  [ScalarType.INT64]: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
  [ScalarType.SINT64]: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
  [ScalarType.SFIXED64]: { type: "string", format: "int64", pattern: "^-?[0-9]+$" },
  [ScalarType.UINT64]: { type: "string", format: "uint64", pattern: "^[0-9]+$" },
  [ScalarType.FIXED64]: { type: "string", format: "uint64", pattern: "^[0-9]+$" },
  [ScalarType.FLOAT]: { type: "number", format: "float" },
  [ScalarType.DOUBLE]: { type: "number", format: "double" },
};

/**
 * The well-known types the protos use, whose proto3 JSON is not an object of their fields. Any
 * other google.protobuf message is refused (see messageRef) rather than described wrongly.
 */
const WELL_KNOWN: Record<string, Schema> = {
  "google.protobuf.Timestamp": { type: "string", format: "date-time", description: "RFC 3339, UTC, e.g. 2024-05-01T12:00:00.5Z" },
  "google.protobuf.Duration": { type: "string", pattern: "^-?[0-9]+(\\.[0-9]{1,9})?s$", description: 'seconds with an "s" suffix, e.g. "1.5s"' },
};

/** components/schemas, filled as messages and enums are referred to. */
export class SchemaSet {
  readonly schemas: Record<string, Schema> = {};

  /** A $ref to the message's schema (inline for the well-known types). */
  messageRef(message: DescMessage): Schema {
    const wellKnown = WELL_KNOWN[message.typeName];
    if (wellKnown) return wellKnown;
    if (message.typeName.startsWith("google.protobuf.")) throw new Error(`${message.typeName}: no proto3 JSON schema for this well-known type yet`);
    if (!(message.typeName in this.schemas)) {
      // Placed before its fields are walked, so that a message that contains itself ends.
      this.schemas[message.typeName] = {};
      this.schemas[message.typeName] = this.objectSchema(message);
    }
    return ref(message.typeName);
  }

  /** The message as a JSON object, without the fields named in `omit` (path variables). */
  objectSchema(message: DescMessage, omit: ReadonlySet<string> = new Set()): Schema {
    const fields = message.fields.filter((field) => !omit.has(field.name));
    const properties = Object.fromEntries(fields.map((field) => [field.jsonName, this.fieldSchema(field)]));
    const oneofs = message.oneofs
      .map((oneof) => oneof.fields.filter((field) => !omit.has(field.name)).map((field) => field.jsonName))
      .filter((names) => names.length > 1);
    return {
      type: "object",
      properties,
      additionalProperties: false,
      ...(oneofs.length > 0 && {
        description: oneofs.map((names) => `At most one of ${names.join(", ")}.`).join(" "),
        // A oneof: no two of its fields together.
        not: { anyOf: oneofs.flatMap((names) => names.flatMap((a, i) => names.slice(i + 1).map((b) => ({ required: [a, b] })))) },
      }),
    };
  }

  fieldSchema(field: DescField): Schema {
    switch (field.fieldKind) {
      case "scalar":
        return SCALARS[field.scalar];
      case "enum":
        return this.enumRef(field.enum);
      case "message":
        return this.messageRef(field.message);
      case "list":
        return { type: "array", items: this.elementSchema(field) };
      case "map":
        return { type: "object", additionalProperties: this.elementSchema(field) };
    }
  }

  /** The schema of a list's items or a map's values. */
  private elementSchema(field: DescField & { fieldKind: "list" | "map" }): Schema {
    const kind = field.fieldKind === "list" ? field.listKind : field.mapKind;
    if (kind === "scalar") return SCALARS[field.scalar!];
    if (kind === "enum") return this.enumRef(field.enum!);
    return this.messageRef(field.message!);
  }

  private enumRef(desc: DescEnum): Schema {
    this.schemas[desc.typeName] ??= { type: "string", enum: desc.values.map((value) => value.name) };
    return ref(desc.typeName);
  }
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });

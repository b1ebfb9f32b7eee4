/** Errors in the grpc-gateway body shape and HTTP status that ZITADEL's REST API answers with. */
import { createRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { CredentialsCheckErrorSchema, ErrorDetailSchema } from "../../../gen/zitadel/message_pb.js";

const DETAIL_TYPES = createRegistry(ErrorDetailSchema, CredentialsCheckErrorSchema);

const HTTP_STATUS: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.FailedPrecondition]: 400,
  [Code.OutOfRange]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.Aborted]: 409,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

export const httpStatusOf = (code: Code) => HTTP_STATUS[code] ?? 500;

export interface GatewayError {
  code: Code;
  message: string;
  details: Record<string, unknown>[];
}

export function gatewayError(err: ConnectError): GatewayError {
  // Errors reach the REST layer decoded from Connect's JSON, so their details are still bytes.
  const details = err.details.flatMap((detail) => {
    const type = "type" in detail ? DETAIL_TYPES.getMessage(detail.type) : undefined;
    if (!type || !("type" in detail)) return [];
    const any = anyPack(type, fromBinary(type, detail.value));
    const { "@type": typeUrl, ...fields } = toJson(AnySchema, any, { registry: DETAIL_TYPES }) as Record<string, unknown>;
    return [{ "@type": typeUrl, ...fields }];
  });
  return { code: err.code, message: err.rawMessage, details };
}

export const plainGatewayError = (code: Code, message: string): GatewayError => ({ code, message, details: [] });

/** Errors in the grpc-gateway body shape and HTTP status that ZITADEL's REST API answers with. */
import { create, createRegistry, fromBinary, toJson } from "@bufbuild/protobuf";
import { anyPack, AnySchema } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { CredentialsCheckErrorSchema, ErrorDetailSchema } from "../../../gen/zitadel/message_pb.js";

/** The messages an error's details can hold: ZITADEL's ErrorDetail, or for a wrong password its CredentialsCheckError. */
export const ERROR_DETAIL_MESSAGES = [ErrorDetailSchema, CredentialsCheckErrorSchema];

const DETAIL_TYPES = createRegistry(...ERROR_DETAIL_MESSAGES);

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
  const details = err.details.flatMap((detail) => {
    // As the implementation made it, or (on the stock path) decoded from Connect's JSON, still bytes.
    const type = "desc" in detail ? detail.desc : DETAIL_TYPES.getMessage(detail.type);
    if (!type || !DETAIL_TYPES.getMessage(type.typeName)) return [];
    const message = "desc" in detail ? create(type, detail.value) : fromBinary(type, detail.value);
    const { "@type": typeUrl, ...fields } = toJson(AnySchema, anyPack(type, message), { registry: DETAIL_TYPES }) as Record<string, unknown>;
    return [{ "@type": typeUrl, ...fields }];
  });
  return { code: err.code, message: err.rawMessage, details };
}

export const plainGatewayError = (code: Code, message: string): GatewayError => ({ code, message, details: [] });

/** Connect's JSON error body, `{"code":"invalid_argument","message":"…","details":[…]}`, read and written. */
import type { Code } from "@connectrpc/connect";
import { codeName } from "./call-report.js";

export interface ConnectErrorBody {
  code?: string;
  message?: string;
  /** Each a protobuf message: its type name and its bytes in base64. */
  details?: { type?: string; value?: string }[];
}

/** The body's fields; none when it is not JSON (e.g. an empty 415 body). */
export function readConnectErrorBody(bytes: Uint8Array): ConnectErrorBody {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(bytes).toString("utf8"));
    return parsed !== null && typeof parsed === "object" ? (parsed as ConnectErrorBody) : {};
  } catch {
    return {};
  }
}

/** An error without details, as Connect writes it. */
export const connectErrorBody = (code: Code, message: string): Buffer => Buffer.from(JSON.stringify({ code: codeName(code), message }));

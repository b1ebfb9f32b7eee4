/** The CLI as a client of the running server: where its token comes from, its transport, and how errors read. */
import { readFileSync } from "node:fs";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ErrorDetailSchema } from "../../gen/zitadel/message_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";
import { DeliveryService } from "../../gen/zus/delivery/v1/delivery_service_pb.js";
import { UserRecordService } from "../../gen/zus/user/v1/user_record_service_pb.js";
import { loadConfig } from "../config.js";

/** A failure of the whole command (no token, server unreachable): one line on stderr, exit code 1. */
export class CliFailure extends Error {}

export interface ApiClients {
  records: Client<typeof UserRecordService>;
  users: Client<typeof UserService>;
  deliveries: Client<typeof DeliveryService>;
}

/** ZUS_TOKEN, else the admin token the server wrote on its first start (src/app/bootstrap.ts). */
export function resolveToken(): string {
  const fromEnv = process.env.ZUS_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  const file = loadConfig().adminTokenFile;
  let token: string;
  try {
    token = readFileSync(file, "utf8").trim();
  } catch (err) {
    throw new CliFailure(`no token: set ZUS_TOKEN, or make the admin token file readable (${(err as Error).message})`);
  }
  if (!token) throw new CliFailure(`no token: set ZUS_TOKEN; the admin token file ${file} is empty`);
  return token;
}

/**
 * The Connect protocol (binary) over HTTP/1.1 rather than gRPC: it needs no HTTP/2 end to end, so
 * it passes any proxy or load balancer in front of the server, and a server stream (events watch)
 * is an ordinary chunked response. The server speaks all three protocols alike.
 */
export function apiClients(server: URL, token: string): ApiClients {
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  // The server's root: a path in --server (a prefix before the services) is kept, its trailing slash is not.
  const baseUrl = server.href.replace(/\/$/, "");
  const transport = createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors: [bearer] });
  return {
    records: createClient(UserRecordService, transport),
    users: createClient(UserService, transport),
    deliveries: createClient(DeliveryService, transport),
  };
}

/** The server's answer as one line: the code, ZITADEL's error id when there is one, the message. */
export function answerLine(code: Code, id: string, message: string): string {
  return [Code[code], id, message].filter(Boolean).join(" ");
}

/** An error as one line: the server's answer, or that no server answered. */
export function errorLine(err: unknown, server: URL): string {
  const connectErr = ConnectError.from(err);
  if (isUnreachable(connectErr)) return `cannot reach the server at ${server.origin}: ${connectErr.rawMessage}`;
  const [detail] = connectErr.findDetails(ErrorDetailSchema);
  return detail ? answerLine(connectErr.code, detail.id, detail.message) : answerLine(connectErr.code, "", connectErr.rawMessage);
}

/** No server answered (refused, unknown host, reset): Node's own network errors carry a syscall, the server's answers do not. */
export function isUnreachable(err: unknown): boolean {
  const connectErr = ConnectError.from(err);
  const cause = connectErr.cause as NodeJS.ErrnoException | undefined;
  return connectErr.code === Code.Unavailable && typeof cause?.syscall === "string";
}

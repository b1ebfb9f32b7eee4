/**
 * TLS on the one port: with TLS_CERT_FILE and TLS_KEY_FILE set, every protocol works over
 * TLS, ALPN picks h2 or http/1.1, plain text is refused, and half a configuration is an error.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UserState } from "../gen/zitadel/user/v2/user_pb.js";
import { UserService } from "../gen/zitadel/user/v2/user_service_pb.js";
import { addHuman } from "./support/fixtures.js";
import { freePort, newDataDir, ROOT, SERVER_ENTRY, startServer, type TestServer } from "./support/server.js";

let certDir: string;
let certFile: string;
let keyFile: string;
let ca: Buffer;
let server: TestServer;
let baseUrl: string;

function makeCertificate(dir: string) {
  execFileSync(
    "openssl",
    [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
      "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ],
    { stdio: "ignore" },
  );
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), "zus-tls-"));
  makeCertificate(certDir);
  certFile = join(certDir, "cert.pem");
  keyFile = join(certDir, "key.pem");
  ca = readFileSync(certFile);
  server = await startServer({ env: { TLS_CERT_FILE: certFile, TLS_KEY_FILE: keyFile } });
  baseUrl = `https://127.0.0.1:${server.port}`;
});
afterAll(() => server?.stop());

const bearer =
  (token: string): Interceptor =>
  (next) =>
  (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };

function tlsTransport(kind: "grpc" | "grpc-web" | "connect-json-h1" | "connect-json-h2"): Transport {
  const interceptors = [bearer(server.adminToken)];
  switch (kind) {
    case "grpc":
      return createGrpcTransport({ baseUrl, interceptors, nodeOptions: { ca } });
    case "grpc-web":
      return createGrpcWebTransport({ baseUrl, httpVersion: "1.1", interceptors, nodeOptions: { ca } });
    case "connect-json-h1":
      return createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, interceptors, nodeOptions: { ca } });
    case "connect-json-h2":
      return createConnectTransport({ baseUrl, httpVersion: "2", useBinaryFormat: false, interceptors, nodeOptions: { ca } });
  }
}

interface RawResponse {
  status: number;
  body: string;
  alpn: string | false | null;
  httpVersion: string;
}

function httpsRequest(method: string, path: string, options: https.RequestOptions = {}, body?: string): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: "127.0.0.1",
        port: server.port,
        method,
        path,
        ca,
        agent: false,
        headers: { authorization: `Bearer ${server.adminToken}`, ...(body ? { "content-type": "application/json" } : {}) },
        ...options,
      },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () =>
          resolve({ status: res.statusCode!, body: text, alpn: (res.socket as tls.TLSSocket).alpnProtocol ?? null, httpVersion: res.httpVersion }),
        );
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("TLS", () => {
  it("logs that it listens with TLS", () => {
    expect(server.output()).toMatch(/"tls":true/);
  });

  it("gRPC over TLS creates, locks and reads a user", async () => {
    const client = createClient(UserService, tlsTransport("grpc"));
    const userId = await addHuman(client);
    const locked = await client.lockUser({ userId });
    expect(locked.details!.sequence).toBe(2n);
    const read = await client.getUserByID({ userId });
    expect(read.user!.userId).toBe(userId);
    expect(read.user!.state).toBe(UserState.LOCKED);
    expect(read.details!.sequence).toBe(2n);
  });

  it.each(["connect-json-h1", "connect-json-h2", "grpc-web"] as const)("%s over TLS locks, unlocks and reads a user", async (kind) => {
    const client = createClient(UserService, tlsTransport(kind));
    const userId = await addHuman(client);
    expect((await client.lockUser({ userId })).details!.sequence).toBe(2n);
    expect((await client.getUserByID({ userId })).user!.state).toBe(UserState.LOCKED);
    expect((await client.unlockUser({ userId })).details!.sequence).toBe(3n);
    const read = await client.getUserByID({ userId });
    expect(read.user!.state).toBe(UserState.ACTIVE);
    expect(read.details!.sequence).toBe(3n);
  });

  it("REST over TLS (node:https with the CA) locks and reads a user", async () => {
    const client = createClient(UserService, tlsTransport("grpc"));
    const userId = await addHuman(client);
    const lock = await httpsRequest("POST", `/v2/users/${userId}/lock`, {}, "{}");
    expect(lock.status, lock.body).toBe(200);
    expect(JSON.parse(lock.body).details.sequence).toBe("2");
    const get = await httpsRequest("GET", `/v2/users/${userId}`);
    expect(get.status, get.body).toBe(200);
    const json = JSON.parse(get.body);
    expect(json.user.userId).toBe(userId);
    expect(json.user.state).toBe("USER_STATE_LOCKED");
  });

  it("the certificate is really checked: a client without the CA is refused", async () => {
    await expect(httpsRequest("GET", "/healthz", { ca: undefined })).rejects.toThrow(/self[- ]signed|certificate/i);
  });

  it("ALPN negotiates h2 for an http2 client", async () => {
    const session = http2.connect(baseUrl, { ca });
    try {
      await new Promise<void>((resolve, reject) => {
        session.once("connect", () => resolve());
        session.once("error", reject);
      });
      expect(session.alpnProtocol).toBe("h2");
      expect((session.socket as tls.TLSSocket).alpnProtocol).toBe("h2");
      const status = await new Promise<number>((resolve, reject) => {
        const stream = session.request({ ":path": "/healthz" });
        stream.on("response", (headers) => resolve(Number(headers[":status"])));
        stream.on("error", reject);
        stream.resume();
        stream.end();
      });
      expect(status).toBe(200);
    } finally {
      session.close();
    }
  });

  it("ALPN negotiates http/1.1 for an https client", async () => {
    const res = await httpsRequest("GET", "/healthz", { ALPNProtocols: ["http/1.1"] } as https.RequestOptions);
    expect(res.status).toBe(200);
    expect(res.alpn).toBe("http/1.1");
    expect(res.httpVersion).toBe("1.1");
    // A client offering both gets h2, the server's preference.
    const both = tls.connect({ host: "127.0.0.1", port: server.port, ca, servername: "localhost", ALPNProtocols: ["h2", "http/1.1"] });
    try {
      await new Promise<void>((resolve, reject) => {
        both.once("secureConnect", () => resolve());
        both.once("error", reject);
      });
      expect(both.alpnProtocol).toBe("h2");
    } finally {
      both.destroy();
    }
    // A plain https client that offers no ALPN at all is served HTTP/1.1 (allowHTTP1).
    const noAlpn = await httpsRequest("GET", "/healthz");
    expect(noAlpn.status).toBe(200);
    expect(noAlpn.httpVersion).toBe("1.1");
  });

  it("plain-text HTTP/1.1 to the TLS port fails", async () => {
    const outcome = await new Promise<string>((resolve) => {
      const req = http.request({ host: "127.0.0.1", port: server.port, path: "/healthz", agent: false, timeout: 5000 }, (res) => {
        res.resume();
        resolve(`status ${res.statusCode}`);
      });
      req.on("timeout", () => {
        req.destroy();
        resolve("timeout");
      });
      req.on("error", (err) => resolve(`error ${(err as NodeJS.ErrnoException).code ?? err.message}`));
      req.end();
    });
    expect(outcome).toMatch(/^error /);
  });

  it("plain-text h2c (gRPC without TLS) to the TLS port fails", async () => {
    const client = createClient(UserService, createGrpcTransport({ baseUrl: `http://127.0.0.1:${server.port}`, defaultTimeoutMs: 5000 }));
    const err = await client.getUserByID({ userId: "123456789012345678" }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err, "a plain-text gRPC call must not succeed").toBeInstanceOf(Error);
  });

  it("the server still serves after the plain-text attempts", async () => {
    expect((await httpsRequest("GET", "/healthz")).status).toBe(200);
  });
});

describe("half a TLS configuration", () => {
  async function runWith(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
    const dataDir = newDataDir();
    const port = await freePort();
    const child = spawn(process.execPath, [SERVER_ENTRY], {
      cwd: ROOT,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: "127.0.0.1",
        DATABASE_URL: join(dataDir, "zitadel.db"),
        ADMIN_TOKEN_FILE: join(dataDir, "admin.pat"),
        TLS_CERT_FILE: undefined,
        TLS_KEY_FILE: undefined,
        ...env,
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout!.on("data", (c) => (output += c));
    child.stderr!.on("data", (c) => (output += c));
    const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
    const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
    clearTimeout(timer);
    return { code, output };
  }

  it.each([
    ["only TLS_CERT_FILE", () => ({ TLS_CERT_FILE: certFile })],
    ["only TLS_KEY_FILE", () => ({ TLS_KEY_FILE: keyFile })],
  ])("%s: exits non-zero with a clear message and never listens", async (_, env) => {
    const { code, output } = await runWith(env());
    expect(code).not.toBe(0);
    expect(code).not.toBeNull();
    expect(output).toContain("TLS_CERT_FILE");
    expect(output).toContain("TLS_KEY_FILE");
    expect(output).toMatch(/set both TLS_CERT_FILE and TLS_KEY_FILE, or neither/);
    expect(output).not.toContain('"msg":"listening"');
  });
});

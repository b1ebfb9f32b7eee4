/**
 * A node:http server on 127.0.0.1 as receivers in the tests and drills run one: each request is
 * handed over with its raw body once read (what a signature or a SET is checked against).
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";

export interface RunningReceiver {
  /** `http://127.0.0.1:PORT` and the path given. */
  url: string;
  stop(): Promise<void>;
}

export async function listenReceiver(path: string, handle: (req: IncomingMessage, body: string, res: ServerResponse) => void): Promise<RunningReceiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => handle(req, Buffer.concat(chunks).toString("utf8"), res));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}${path}`,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** One JSON POST over a keep-alive agent, as the load generators make it. */
import { request, type Agent } from "node:http";

/** The answer's status and body; a failed connection answers status 0 and the error. */
export function postJson(agent: Agent, url: URL, token: string, body: string): Promise<{ status: number; body: string }> {
  const headers = { "content-type": "application/json", authorization: `Bearer ${token}` };
  return new Promise((done) => {
    const req = request(url, { method: "POST", headers, agent }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => done({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", (err) => done({ status: 0, body: String(err) }));
    req.end(body);
  });
}

// A receiver of this service's events: Shared Signals SETs pushed to /ssf (RFC 8935) and
// Actions v2 webhooks to /actions, each checked before it is believed.
//   ISSUER=https://idp.example.com AUDIENCE=<stream aud> ACTIONS_SIGNING_KEY=<target key> node receiver.mjs
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { createRemoteJWKSet, jwtVerify } from "jose";

const { ISSUER, AUDIENCE, ACTIONS_SIGNING_KEY, PORT = "9000" } = process.env;
const discovery = await (await fetch(`${ISSUER}/.well-known/ssf-configuration`)).json();
const jwks = createRemoteJWKSet(new URL(discovery.jwks_uri));
const MAX_AGE_S = 300; // a webhook signed longer ago than this is refused (replay)

async function onSet(token) {
  const { payload } = await jwtVerify(token, jwks, { issuer: ISSUER, audience: AUDIENCE, typ: "secevent+jwt", algorithms: ["RS256"] });
  const [type] = Object.keys(payload.events); // exactly one event per SET
  console.log(`SET ${type.split("/").pop()} user=${payload.sub_id.sub} txn=${payload.txn} jti=${payload.jti}`);
}

function onAction(raw, signature) {
  const parts = Object.fromEntries(String(signature).split(",").map((part) => part.split("=")));
  const expected = createHmac("sha256", ACTIONS_SIGNING_KEY).update(`${parts.t}.${raw}`).digest();
  const given = Buffer.from(parts.v1 ?? "", "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw new Error("bad signature");
  if (Math.abs(Date.now() / 1000 - Number(parts.t)) > MAX_AGE_S) throw new Error("signed too long ago");
  const body = JSON.parse(raw);
  console.log(`ACTION ${body.event_type} user=${body.aggregateID} sequence=${body.sequence}`);
}

// RFC 8935 §2.3: why a SET was refused.
const setError = (err) =>
  err.claim === "iss" ? "invalid_issuer" : err.claim === "aud" ? "invalid_audience" : /JWKS|SIGNATURE/.test(err.code ?? "") ? "invalid_key" : "invalid_request";

createServer((req, res) => {
  const chunks = [];
  req.on("data", (chunk) => chunks.push(chunk));
  req.on("end", async () => {
    const raw = Buffer.concat(chunks).toString("utf8");
    try {
      if (req.url === "/ssf") await onSet(raw);
      else if (req.url === "/actions") onAction(raw, req.headers["zitadel-signature"]);
      else return res.writeHead(404).end();
      res.writeHead(req.url === "/ssf" ? 202 : 200).end();
    } catch (err) {
      const body = req.url === "/ssf" ? { err: setError(err), description: err.message } : { error: err.message };
      res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify(body));
    }
  });
}).listen(Number(PORT), () => console.log(`listening on ${PORT}`));

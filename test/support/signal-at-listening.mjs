/**
 * Preloaded into a server (NODE_OPTIONS=--import) by test/shutdown.test.ts: the moment the server
 * writes its "listening" line, from inside that write and before it returns, the process sends
 * itself a SIGTERM. That is a supervisor which reads the line and signals at once, with no time
 * at all between the line and the signal: the server must already have its handler, or Node's
 * default action ends it there without draining.
 */
import fs from "node:fs";

const writeSync = fs.writeSync;
let sent = false;
fs.writeSync = function (fd, data, ...rest) {
  const written = writeSync.call(this, fd, data, ...rest);
  if (!sent && String(data).includes('"msg":"listening"')) {
    sent = true;
    process.kill(process.pid, "SIGTERM");
  }
  return written;
};

/**
 * A watcher as a client written against EXTENSIONS.md §1 runs one through the PostgreSQL drill:
 * every event from a start position, and when the stream ends with Unavailable it opens a new
 * one from the position in the end's WatchEnded detail (or, for a stream that failed before its
 * first message, from where it asked to start). It keeps each event it was sent with its time;
 * the drill checks afterwards that the events it got are those the log holds, each once. An
 * Unavailable end without a position, or any other end, is a violation.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { UserRecordService, WatchEndedSchema } from "../gen/zus/user/v1/user_record_service_pb.js";
import { transport } from "../test/support/clients.js";

/** Between an ended stream and the next one, as a client would wait before it asks again. */
const RESUME_AFTER_MS = 100;

export interface Watched {
  userId: string;
  sequence: number;
  at: number;
}

export interface ResumingWatch {
  readonly events: Watched[];
  /** Streams that ended with Unavailable and a position, and were resumed from it. */
  readonly resumed: number;
  /** Opens that failed before the stream's first message and were tried again. */
  readonly reopened: number;
  stop(): Promise<void>;
}

export function startResumingWatch(server: { baseUrl: string; adminToken: string }, from: string, name: string, violations: string[]): ResumingWatch {
  const records = createClient(UserRecordService, transport("grpc", server.baseUrl, server.adminToken));
  const abort = new AbortController();
  const state = { events: [] as Watched[], resumed: 0, reopened: 0 };
  let position = from;

  const loop = (async () => {
    while (!abort.signal.aborted) {
      let messages = 0;
      try {
        for await (const message of records.watchUserEvents({ position }, { signal: abort.signal })) {
          messages++;
          position = message.position;
          if (message.kind.case === "event") state.events.push({ userId: message.kind.value.userId, sequence: Number(message.kind.value.sequence), at: Date.now() });
        }
        if (!abort.signal.aborted) violations.push(`${name}: the watch ended without an error`);
        return;
      } catch (err) {
        if (abort.signal.aborted) return;
        const error = ConnectError.from(err);
        const ended = error.findDetails(WatchEndedSchema)[0];
        if (error.code !== Code.Unavailable) {
          violations.push(`${name}: the watch ended with ${Code[error.code]}: ${error.rawMessage}`);
          return;
        }
        if (ended) {
          position = ended.position;
          state.resumed++;
        } else if (messages === 0) {
          state.reopened++;
        } else {
          violations.push(`${name}: the watch ended Unavailable without a position to resume from: ${error.rawMessage}`);
        }
      }
      await sleep(RESUME_AFTER_MS);
    }
  })();

  return {
    get events() {
      return state.events;
    },
    get resumed() {
      return state.resumed;
    },
    get reopened() {
      return state.reopened;
    },
    async stop() {
      abort.abort();
      await loop;
    },
  };
}

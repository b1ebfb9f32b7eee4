/** zus.bench.v1.BenchService: the no-op the benchmark compares lock/unlock against (BENCH_NOOP=1). */
import type { ServiceImpl } from "@connectrpc/connect";
import { BenchService } from "../../gen/zus/bench/v1/bench_pb.js";
import { callerOf } from "./caller.js";
import { requireLength } from "./from-proto.js";

export const benchService: ServiceImpl<typeof BenchService> = {
  noop(req, ctx) {
    // The same conversion and validation work a state change does before it reaches the app.
    callerOf(ctx);
    requireLength(req.userId, "NoopRequest", "UserId", 1, 200);
    return {};
  },
};

/**
 * A Courier in a child process of low CPU priority (courier-main.ts, DELIVERY_NICE): the signing and the
 * requests of deliveries run there, so that on a busy machine the scheduler gives calls the CPU
 * first and deliveries what is left, and on a machine with a spare core they run on it. What a
 * burst of calls makes the deliveries wait is held in the outbox (durable, in order), and goes
 * out as soon as the calls leave room (bench/FINDINGS.md "2026-12-05, the courier").
 *
 * Both sides of the channel are here: ProcessCourier in the server, serveCourier in the child.
 * The child is started with the first delivery, started again with the next one after it died
 * (what it was doing fails and is retried by the dispatcher), and exits when the server closes
 * the channel or dies: it ignores the SIGINT and SIGTERM sent to the whole process group, so
 * that the sends under way finish while the server drains.
 */
import { fork, type ChildProcess } from "node:child_process";
import type { SigningKey } from "../security/set-signing.js";
import { LocalCourier, type Courier } from "./courier.js";
import type { PostAnswer, PostOptions } from "./outbound-post.js";

type Request =
  /** A key's PEM travels once per child, with the first signing request that needs it. */
  | { id: number; op: "sign"; claims: readonly Record<string, unknown>[]; kid: string; privateKeyPem?: string }
  | { id: number; op: "post"; url: string; body: string; options: PostOptions };

type Answer = { id: number; value: string[] | PostAnswer } | { id: number; error: string };

interface Waiting {
  resolve(value: never): void;
  reject(err: unknown): void;
}

export class ProcessCourier implements Courier {
  private child?: ChildProcess;
  private readonly waiting = new Map<number, Waiting>();
  /** The kids whose PEM the current child has been sent. */
  private keysSent = new Set<string>();
  private nextId = 1;

  constructor(
    /** The child's script (the bundle dist/courier.mjs). */
    private readonly script: URL,
    /** The child's nice value (DELIVERY_NICE). */
    private readonly nice: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  signSets(claims: readonly Record<string, unknown>[], key: SigningKey): Promise<string[]> {
    const child = this.running();
    const pem = this.keysSent.has(key.kid) ? {} : { privateKeyPem: key.privateKeyPem };
    this.keysSent.add(key.kid);
    return this.call(child, (id) => ({ id, op: "sign", claims, kid: key.kid, ...pem }));
  }

  post(url: URL, body: string, options: PostOptions): Promise<PostAnswer> {
    const child = this.running();
    return this.call(child, (id) => ({ id, op: "post", url: url.href, body, options }));
  }

  /** Closes the channel: the child exits, abandoning what it still does (the dispatcher has stopped). */
  stop(): void {
    this.child?.disconnect();
    this.child = undefined;
  }

  private running(): ChildProcess {
    if (this.child) return this.child;
    // No output: the child reports through the channel, and a crash must not print a stack.
    const child = fork(this.script, [String(this.nice)], { stdio: ["ignore", "ignore", "ignore", "ipc"] });
    child.on("message", (answer: Answer) => this.settle(answer));
    child.once("exit", (code, signal) => {
      if (this.child !== child) return;
      this.child = undefined;
      const gone = new Error("the delivery process exited");
      for (const waiting of this.waiting.values()) waiting.reject(gone);
      this.waiting.clear();
      this.onError(new Error(`the delivery process exited (${signal ?? `code ${code}`}); another starts with the next delivery`));
    });
    child.on("error", (err) => this.onError(err));
    this.child = child;
    this.keysSent = new Set();
    return child;
  }

  /** No timeout here: the child times each request from its start (outbound-post.ts), and its exit fails what it had. */
  private call<T>(child: ChildProcess, request: (id: number) => Request): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      child.send(request(id));
    });
  }

  private settle(answer: Answer): void {
    const waiting = this.waiting.get(answer.id)!;
    this.waiting.delete(answer.id);
    if ("error" in answer) waiting.reject(new Error(answer.error));
    else waiting.resolve(answer.value as never);
  }
}

/** The child's side: answers each request with a LocalCourier, until the channel closes. */
export function serveCourier(): void {
  const courier = new LocalCourier();
  const pems = new Map<string, string>();
  const answer = (message: Answer) => process.send?.(message);
  process.on("message", (request: Request) => {
    void run(request).then(
      (value) => answer({ id: request.id, value }),
      (err: unknown) => answer({ id: request.id, error: err instanceof Error ? err.message : String(err) }),
    );
  });
  process.on("disconnect", () => process.exit(0));
  for (const signal of ["SIGINT", "SIGTERM"] as const) process.on(signal, () => undefined);

  async function run(request: Request): Promise<string[] | PostAnswer> {
    if (request.op === "sign") {
      if (request.privateKeyPem) pems.set(request.kid, request.privateKeyPem);
      const privateKeyPem = pems.get(request.kid);
      if (!privateKeyPem) throw new Error(`no key ${request.kid} was sent`);
      return courier.signSets(request.claims, { kid: request.kid, privateKeyPem });
    }
    return courier.post(new URL(request.url), request.body, request.options);
  }
}

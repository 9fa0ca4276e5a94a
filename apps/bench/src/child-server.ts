/**
 * Parent side of a server under test: spawns `node <script>` (built JS) as its own process, waits
 * for its URL, and sends it requests over the IPC channel. Each child has its own event loop, so
 * the load generator, the upstream and the server never share one.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { machine } from "./process-stats";
import type { ChildMessage, ParentMessage } from "./server-protocol";

export interface ChildServerHandle {
  readonly name: string;
  readonly pid: number;
  readonly url: string;
  readonly details: Record<string, unknown>;
  request<T = unknown>(type: ParentMessage["type"], timeoutMs?: number): Promise<T>;
  stop(): Promise<void>;
}

export class ChildStartError extends Error {
  readonly kind = "child_start";
  constructor(
    message: string,
    readonly skip: boolean,
  ) {
    super(message);
  }
}

export interface SpawnOptions {
  name: string;
  script: string;
  env?: Record<string, string>;
  /** Extra node flags (--cpu-prof, --expose-gc, ...). */
  nodeArgs?: string[];
  startTimeoutMs?: number;
}

export function spawnServer(options: SpawnOptions): Promise<ChildServerHandle> {
  const child: ChildProcess = spawn(process.execPath, [...(options.nodeArgs ?? []), options.script], {
    env: { ...process.env, ...options.env, NODE_ENV: "production" },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  if (child.pid !== undefined) machine.add(child.pid);
  let nextId = 1;
  const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  let exited = false;

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(
        new ChildStartError(`${options.name}: not ready after ${options.startTimeoutMs ?? 60_000} ms`, false),
      );
    }, options.startTimeoutMs ?? 60_000);

    child.on("exit", (code, signal) => {
      exited = true;
      clearTimeout(timer);
      for (const waiter of pending.values())
        waiter.reject(new Error(`${options.name} exited (${code ?? signal}) before replying`));
      pending.clear();
      reject(new ChildStartError(`${options.name} exited (${code ?? signal}) before it was ready`, false));
    });

    child.on("message", (raw) => {
      const message = raw as ChildMessage;
      if (message.type === "failed") {
        clearTimeout(timer);
        reject(new ChildStartError(`${options.name}: ${message.message}`, message.skip));
        return;
      }
      if (message.type === "reply") {
        const waiter = pending.get(message.id);
        pending.delete(message.id);
        waiter?.resolve(message.value);
        return;
      }
      clearTimeout(timer);
      const handle: ChildServerHandle = {
        name: options.name,
        pid: child.pid!,
        url: message.url,
        details: message.details,
        request<T>(type: ParentMessage["type"], timeoutMs = 30_000): Promise<T> {
          if (exited) return Promise.reject(new Error(`${options.name} is not running`));
          const id = nextId++;
          return new Promise<T>((resolveReply, rejectReply) => {
            const replyTimer = setTimeout(() => {
              pending.delete(id);
              rejectReply(new Error(`${options.name}: no reply to ${type} within ${timeoutMs} ms`));
            }, timeoutMs);
            pending.set(id, {
              resolve: (value) => {
                clearTimeout(replyTimer);
                resolveReply(value as T);
              },
              reject: (error) => {
                clearTimeout(replyTimer);
                rejectReply(error);
              },
            });
            child.send({ type, id } satisfies ParentMessage);
          });
        },
        async stop() {
          if (exited) return;
          const gone = new Promise<void>((resolveExit) => child.once("exit", () => resolveExit()));
          await handle.request("stop", 15_000).catch(() => undefined);
          const killTimer = setTimeout(() => child.kill("SIGKILL"), 15_000);
          await gone;
          clearTimeout(killTimer);
        },
      };
      resolve(handle);
    });
  });
}

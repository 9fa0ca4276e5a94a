import { createConnection, type Socket } from "node:net";
import { type ConnectionOptions, connect as connectTls, type TLSSocket } from "node:tls";
import { AbstractConnector } from "ioredis";

/** The connection settings ioredis hands its connector (its own options object). */
interface ConnectorOptions {
  host?: string;
  port?: number;
  path?: string;
  family?: number;
  tls?: ConnectionOptions;
  disconnectTimeout?: number;
}

/**
 * ioredis's standalone connector, with one difference: every socket keeps an `error` listener for its
 * whole life. ioredis listens with `once`, so a socket that fails twice (a TLS handshake alert followed
 * by a reset, seen with a TLS Redis that refuses the client) raised the second error as an uncaught
 * exception, which would take the host app down (ioredis issue #962). Errors still reach ioredis
 * (the first one) and the gateway (failed commands, counted, one warning per outage).
 */
export class GuardedConnector extends AbstractConnector {
  private readonly options: ConnectorOptions;

  constructor(options: unknown) {
    const settings = options as ConnectorOptions;
    super(settings.disconnectTimeout ?? 2_000);
    this.options = settings;
  }

  connect(): Promise<Socket | TLSSocket> {
    const { host, port, path, family, tls } = this.options;
    this.connecting = true;
    // resolved on the next tick, as ioredis's own connector does (it may be disconnected meanwhile)
    return new Promise((resolve, reject) => {
      process.nextTick(() => {
        if (!this.connecting) {
          reject(new Error("Connection is closed."));
          return;
        }
        let stream: Socket | TLSSocket;
        try {
          const where = path ? { path } : { host, port, ...(family ? { family } : {}) };
          stream = tls ? connectTls({ ...where, ...tls }) : createConnection(where as { port: number });
        } catch (error) {
          reject(error);
          return;
        }
        stream.on("error", () => undefined);
        stream.once("error", (error) => {
          this.firstError = error;
        });
        this.stream = stream;
        resolve(stream);
      });
    });
  }
}

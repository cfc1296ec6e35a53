/**
 * Binding the app to a port (`@hono/node-server`) and shutting it down cleanly: on `close`
 * (what `qkv serve` calls on SIGTERM/SIGINT) the server stops accepting connections and
 * refuses new generations with 503, lets the streams in flight finish for a grace period, then
 * ends the remaining ones with an error event (OpenAI's `data: {"error": …}`) and `[DONE]`.
 *
 * It binds 127.0.0.1 unless told otherwise: a model server open to the network is a choice.
 *
 * @example
 * const server = await startServer({ served, port: 0 });
 * console.log(server.url); // http://127.0.0.1:54321
 * await server.close();
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createServeApp, type ServeAppOptions } from './app.ts';
import type { InFlight } from './in-flight.ts';

export interface StartServerOptions extends ServeAppOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
}

export interface RunningServer {
  /** `http://host:port`, the port actually bound. */
  url: string;
  host: string;
  port: number;
  inFlight: InFlight;
  /** Stops accepting, waits up to `graceMs` (default 5000) for streams to finish, then ends the rest with an error event. */
  close(options?: { graceMs?: number }): Promise<void>;
}

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export function startServer(options: StartServerOptions): Promise<RunningServer> {
  const host = options.host ?? DEFAULT_HOST;
  const app = createServeApp(options);
  const { inFlight } = app;
  return new Promise((resolve, reject) => {
    let server: Server;
    const onError = (error: Error) => reject(error);
    server = serve({ fetch: app.fetch, hostname: host, port: options.port ?? DEFAULT_PORT }, (info: AddressInfo) => {
      server.off('error', onError);
      const urlHost = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      let closing: Promise<void> | null = null;
      resolve({
        url: `http://${urlHost}:${info.port}`,
        host: info.address,
        port: info.port,
        inFlight,
        close: ({ graceMs = 5000 } = {}) => {
          closing ??= (async () => {
            inFlight.draining = true;
            const closed = new Promise<void>((done) => server.close(() => done()));
            server.closeIdleConnections();
            if (!(await inFlight.waitIdle(graceMs))) {
              inFlight.abortAll('the server is shutting down');
              await inFlight.waitIdle(1000);
            }
            // The last chunks ([DONE]) are still being written: let each response end, closing
            // connections as they fall idle, before cutting whatever is left.
            const deadline = Date.now() + 1000;
            let isClosed = false;
            void closed.then(() => (isClosed = true));
            while (!isClosed && Date.now() < deadline) {
              server.closeIdleConnections();
              await new Promise((wait) => setTimeout(wait, 20));
            }
            server.closeAllConnections();
            await closed;
          })();
          return closing;
        },
      });
    }) as Server;
    server.once('error', onError);
  });
}

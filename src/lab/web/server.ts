/**
 * `qkv lab serve`: serves the lab site (./site.ts) with the cross-origin isolation headers on
 * every response; it only hands out files, all compute runs in the page.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { CONTENT_TYPES, ISOLATION_HEADERS, type LabSite } from './site.ts';

export function labApp(site: LabSite): Hono {
  const app = new Hono();
  app.use('*', async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(ISOLATION_HEADERS)) c.res.headers.set(name, value);
    c.res.headers.set('Cache-Control', 'no-store');
  });
  app.get('/:file{.*}', (c) => {
    const name = c.req.param('file') || 'index.html';
    const body = site.get(name);
    if (body === undefined) return c.text(`not found: /${name}`, 404);
    const type = CONTENT_TYPES[name.split('.').pop() ?? ''] ?? 'application/octet-stream';
    return c.body(typeof body === 'string' ? body : new Uint8Array(body), 200, { 'Content-Type': type });
  });
  return app;
}

export interface LabServer {
  url: string;
  close(): Promise<void>;
}

/** Listen on host:port (port 0: any free one); resolves once listening. */
export function serveLab(site: LabSite, options: { host: string; port: number }): Promise<LabServer> {
  const app = labApp(site);
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
      const host = info.address.includes(':') ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}/`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
    server.on('error', reject);
  });
}

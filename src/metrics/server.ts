// The Prometheus endpoint: GET /metrics (and / with a link). No authentication, as is the
// Prometheus convention: listen on a management address (device.metrics.listen), never on a
// traffic interface, or restrict it with the host firewall. It only reads; it changes nothing.
import { createServer } from 'node:http';
import { closeHttp, listenHttp } from '../net/http-listen.js';
import type { Metrics } from './registry.js';

export interface MetricsServer {
  close(): Promise<void>;
  /** "http://host:port" (the real port) or "unix:/path". */
  address: string;
}

/** Concurrent scrape connections: a few Prometheus servers, with room for curl and the CLI. */
export const METRICS_MAX_CONNECTIONS = 32;

export async function startMetricsServer(listen: string, metrics: Metrics): Promise<MetricsServer> {
  const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (req, res) => {
    const path = (req.url ?? '/').split('?', 1)[0];
    req.resume();
    const send = (status: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), ...headers });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    if (path !== '/metrics' && path !== '/') return send(404, 'text/plain; charset=utf-8', 'not found: try /metrics\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return send(405, 'text/plain; charset=utf-8', 'method not allowed\n', { Allow: 'GET, HEAD' });
    }
    if (path === '/') {
      return send(
        200,
        'text/html; charset=utf-8',
        '<html><head><title>tandem</title></head><body><h1>tandem</h1><p><a href="/metrics">Metrics</a></p></body></html>\n',
      );
    }
    metrics.text().then(
      (text) => send(200, metrics.contentType, text),
      (err: unknown) => send(500, 'text/plain; charset=utf-8', `cannot collect metrics: ${err instanceof Error ? err.message : String(err)}\n`),
    );
  });
  // a few Prometheus servers scrape it; bound the rest (counted; no log: this listener has no logger
  // and the counter is what a scraper-side alert reads)
  server.maxConnections = METRICS_MAX_CONNECTIONS;
  server.on('drop', () => metrics.connectionRefused('metrics'));
  const address = await listenHttp(server, listen);
  let closed: Promise<void> | null = null;
  return { address, close: () => (closed ??= closeHttp(server, listen)) };
}

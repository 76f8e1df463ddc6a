// Reads a daemon's Prometheus text over its listener (the lab's are unix sockets) and picks values.
import { request } from 'node:http';

export function scrape(listen: string): Promise<string> {
  const target = listen.startsWith('unix:') ? { socketPath: listen.slice(5) } : { host: listen.split(':')[0], port: Number(listen.split(':')[1]) };
  return new Promise((resolve, reject) => {
    const req = request({ ...target, path: '/metrics', method: 'GET', timeout: 3000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`scrape of ${listen} timed out`)));
    req.end();
  });
}

/** Sum of every sample of `family` whose labels include all of `labels`. */
export function metricValue(text: string, family: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(family)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m || m[1] !== family) continue;
    const have = new Map<string, string>();
    for (const part of (m[3] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) have.set(part[1], part[2]);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(m[4]);
  }
  return sum;
}

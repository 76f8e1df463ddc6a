// The status page's shell and scripts (../status-page/page.ts). They hold no data (the page asks
// for the token, then calls the API with it), so they are the only paths served without the token,
// and the only answers that are not JSON.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Metrics } from '../../metrics/registry.js';
import type { StatusPage } from '../status-page/page.js';

export async function servePage(page: StatusPage, path: string, req: IncomingMessage, res: ServerResponse, metrics: Metrics): Promise<void> {
  req.resume();
  const r = await page.respond(path, req.method);
  metrics.apiRequest(path, r.status);
  res.writeHead(r.status, r.headers);
  res.end(req.method === 'HEAD' ? undefined : r.body);
}

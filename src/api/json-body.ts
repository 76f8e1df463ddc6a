// JSON in and out of the management API: a bounded request body that must be a JSON object, and
// a JSON answer that no cache keeps and no browser sniffs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from './routes/route.js';

/** After a 413 we read (and discard) at most this much more, so the client can read the answer. */
const DRAIN_LIMIT_BYTES = 1024 * 1024;

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string>): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    ...headers,
  });
  res.end(text);
}

/**
 * Reads at most `maxBytes`; an empty body is `undefined`; anything else must be a JSON object.
 *
 * Past the limit the rest of the body is still arriving. Closing at once would make the kernel
 * reset the connection and the client would see ECONNRESET instead of our 413, so the rest is read
 * and discarded, up to DRAIN_LIMIT_BYTES, then the connection is cut (requestTimeout bounds time).
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let drained = 0;
    let draining = false;
    const startDraining = (): void => {
      draining = true;
      chunks.length = 0;
      reject(new HttpError(413, 'body-too-large', `request body exceeds ${maxBytes} bytes`));
    };
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > maxBytes) startDraining();
    req.on('data', (chunk: Buffer) => {
      if (draining) {
        drained += chunk.length;
        if (drained > DRAIN_LIMIT_BYTES) req.socket.destroy();
        return;
      }
      size += chunk.length;
      if (size > maxBytes) return startDraining();
      chunks.push(chunk);
    });
    req.on('error', (err) => {
      if (!draining) reject(err);
    });
    req.on('end', () => {
      if (draining) return;
      if (size === 0) return resolve(undefined);
      try {
        resolve(jsonObject(Buffer.concat(chunks).toString('utf8')));
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

function jsonObject(text: string): object {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, 'bad-json', `request body is not valid JSON: ${(err as Error).message}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new HttpError(400, 'bad-json', 'request body must be a JSON object');
  }
  return parsed;
}

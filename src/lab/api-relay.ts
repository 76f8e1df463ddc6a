// `node dist/src/lab/api-relay.js <socket> <host> <port>`, run by `lab up --tls` inside a box's
// namespace: a unix socket in the run dir whose every connection is piped to the box's HTTPS API.
// The host has no route into the lab's namespaces (labs run side by side with the same addresses),
// while a unix socket is reachable from any namespace; the relay only moves bytes, so TLS still
// runs end to end between the lab's client and the daemon and verifies the daemon's certificate
// for its real address.
import { chmodSync, rmSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { runAsProgram } from './program.js';

/** Parses `<socket> <host> <port>`; throws a one-line usage error otherwise. */
export function relayArgs(argv: readonly string[]): { socket: string; host: string; port: number } {
  const [socket, host, portText] = argv;
  const port = Number(portText);
  if (!socket?.startsWith('/') || !host || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new Error('usage: api-relay <absolute socket path> <host> <port>');
  }
  return { socket, host, port };
}

/** Pipes `a` and `b` both ways; either end's close or error closes the other. */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const close = (): void => {
    a.destroy();
    b.destroy();
  };
  for (const s of [a, b]) {
    s.on('error', close);
    s.on('close', close);
  }
}

async function relayMain(argv: string[]): Promise<number> {
  const { socket, host, port } = relayArgs(argv);
  rmSync(socket, { force: true });
  const server = createServer((client) => splice(client, connect({ host, port })));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socket, () => resolve());
  });
  // the lab's files are root's: so is the way into its daemons' APIs
  chmodSync(socket, 0o600);
  process.stdout.write(`${JSON.stringify({ ready: true, socket, to: `${host}:${port}` })}\n`);
  await new Promise<void>((resolve) => {
    for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => resolve());
  });
  server.close();
  rmSync(socket, { force: true });
  return 0;
}

runAsProgram(import.meta.url, 'api-relay', relayMain);

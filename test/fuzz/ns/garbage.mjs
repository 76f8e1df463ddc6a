// Garbage at a daemon's sockets from inside a lab namespace (test/integration/fuzz-daemon.test.ts).
//   node garbage.mjs udp  HOST PORT COUNT SEED   random datagrams
//   node garbage.mjs tcp  HOST PORT COUNT SEED   connections that send random bytes (and huge length prefixes)
//   node garbage.mjs http HOST PORT COUNT SEED   broken HTTP requests; counts the answers by status
//                                                (HOST unix:/path: a unix socket listener, PORT ignored)
// Prints one JSON line: {"sent": n, "answers": {...}, "errors": {...}}. Plain JS: runs with node as is.
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';

const [kind, host, portText, countText, seedText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
let s = Number(seedText) >>> 0 || 1;
const rnd = () => {
  // xorshift32: enough for garbage; the seed makes a run repeatable
  s ^= s << 13;
  s >>>= 0;
  s ^= s >>> 17;
  s ^= s << 5;
  s >>>= 0;
  return s / 0x1_0000_0000;
};
const int = (n) => Math.floor(rnd() * n);
const bytes = (n) => Buffer.from(Array.from({ length: n }, () => int(256)));
const answers = {};
const errors = {};
const tally = (m, k) => (m[k] = (m[k] ?? 0) + 1);

async function udp() {
  const sock = createSocket('udp4');
  for (let i = 0; i < count; i++) {
    await new Promise((r) => sock.send(bytes(int(1500)), port, host, () => r()));
  }
  sock.close();
}

function tcpOne(payload, readAnswer) {
  return new Promise((resolve) => {
    const c = host.startsWith('unix:') ? connect({ path: host.slice(5) }) : connect({ host, port });
    let got = '';
    const t = setTimeout(() => {
      tally(errors, 'no-answer');
      c.destroy();
      resolve();
    }, 5000);
    c.on('connect', () => c.write(payload));
    c.on('data', (d) => {
      got += d.toString('latin1');
      if (readAnswer && got.includes('\r\n\r\n')) {
        const m = /^HTTP\/1\.[01] (\d{3})/.exec(got);
        tally(answers, m ? m[1] : 'not-http');
        clearTimeout(t);
        c.destroy();
        resolve();
      }
    });
    c.on('error', (e) => tally(errors, e.code ?? 'error'));
    c.on('close', () => {
      clearTimeout(t);
      if (!readAnswer) tally(answers, 'closed');
      else if (!got.includes('\r\n\r\n')) tally(errors, 'closed-unanswered');
      resolve();
    });
    if (!readAnswer) setTimeout(() => c.end(), 50);
  });
}

async function tcp() {
  for (let i = 0; i < count; i++) {
    const huge = Buffer.from([0xff, 0xff, 0xff, 0xff]);
    await tcpOne(int(3) === 0 ? Buffer.concat([huge, bytes(int(200))]) : bytes(1 + int(3000)), false);
  }
}

const REQS = [
  () => 'GARBAGE\r\n\r\n',
  () => 'GET /v1/status HTTP/1.1\r\nHost: x\r\n\r\n',
  () => 'POST /v1/failover HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer nope\r\nContent-Length: 5\r\n\r\n{"a":',
  () => `GET /${'a'.repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`,
  () => `GET /v1/status HTTP/1.1\r\nX: ${'b'.repeat(20000)}\r\n\r\n`,
  () => 'CONNECT /v1/status HTTP/1.1\r\nHost: x\r\n\r\n',
  () => `POST /v1/config/validate HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n`,
  () => bytes(1 + int(500)).toString('latin1') + '\r\n\r\n',
  () => 'GET /v1/sessions?limit=-1&%zz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n',
];

async function http() {
  for (let i = 0; i < count; i++) await tcpOne(Buffer.from(REQS[int(REQS.length)](), 'latin1'), true);
}

const run = { udp, tcp, http }[kind];
if (!run || !host || !(port > 0 || host.startsWith('unix:')) || !(count > 0)) {
  console.error('usage: garbage.mjs udp|tcp|http HOST PORT COUNT SEED');
  process.exit(2);
}
await run();
console.log(JSON.stringify({ sent: count, answers, errors }));
process.exit(0);

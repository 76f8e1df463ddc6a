// The ICMP prober: a small child process spawned by the control side (prober.ts). raw-socket
// 1.8.1 registers its poll handle on the default libuv loop (src/raw.cc), so it cannot run in the
// control worker thread (the process aborts on the first packet), and the main thread belongs to
// the dataplane (starved under load). Here it has a main thread of its own.
//
//   node prober-main.js <identifier>
// stdin: {"t":"send","dst":"10.0.2.10","seq":7} lines; stdout: ProberMessage lines.
// It exits when stdin closes (the control side went away) and on a socket error (the control side
// restarts it).
import { createRequire } from 'node:module';
import { buildEchoRequest, parseEchoReply, type IcmpDropReason } from './icmp.js';
import { LineSplitter, parseSendCommand, type ProberMessage } from './prober-protocol.js';

interface RawSocket {
  on(event: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (err: Error | null, bytes: number) => void): void;
  close(): void;
}
interface RawModule {
  createSocket(opts: { protocol: number }): RawSocket;
  Protocol: { ICMP: number };
}

/** Drop counts are reported at most this often (a ping flood must not become a log flood). */
const DROP_REPORT_MS = 1000;

const identifier = Number(process.argv[2]);
if (!Number.isInteger(identifier) || identifier < 0 || identifier > 0xffff) {
  process.stderr.write(`prober: usage: prober-main.js <identifier 0-65535>, got ${process.argv[2]}\n`);
  process.exit(2);
}

function emit(m: ProberMessage): void {
  process.stdout.write(`${JSON.stringify(m)}\n`);
}

const drops = new Map<string, number>();
const drop = (reason: IcmpDropReason | 'bad-command' | 'overlong-command'): void => {
  drops.set(reason, (drops.get(reason) ?? 0) + 1);
};

const raw = createRequire(import.meta.url)('raw-socket') as RawModule;
const socket = raw.createSocket({ protocol: raw.Protocol.ICMP });
socket.on('error', (err) => {
  process.stderr.write(`prober: raw socket error: ${err.message}\n`);
  process.exit(1);
});
socket.on('message', (buf) => {
  const r = parseEchoReply(buf, identifier);
  if (r.ok) emit({ t: 'reply', src: r.source, seq: r.sequence });
  else drop(r.reason);
});

const lines = new LineSplitter(
  (line) => {
    const cmd = parseSendCommand(line);
    if (cmd === null) return drop('bad-command');
    const req = buildEchoRequest(identifier, cmd.seq);
    socket.send(req, 0, req.length, cmd.dst, null, (err) => {
      if (err) emit({ t: 'send-error', dst: cmd.dst, seq: cmd.seq, error: err.message });
    });
  },
  () => drop('overlong-command'),
);
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk: string) => lines.push(chunk));
process.stdin.on('end', () => process.exit(0));

setInterval(() => {
  if (drops.size === 0) return;
  emit({ t: 'drops', counts: Object.fromEntries(drops) });
  drops.clear();
}, DROP_REPORT_MS);

emit({ t: 'ready' });

// The ICMP prober: a small child process spawned by the control side (prober.ts). raw-socket
// 1.8.1 registers its poll handle on the default libuv loop (src/raw.cc), so it cannot run in the
// control worker thread (the process aborts on the first packet), and the main thread belongs to
// the dataplane (starved under load). Here it has a main thread of its own.
//
//   node prober-main.js <identifier>
// stdin: {"t":"send","dst":"10.0.2.10","seq":7} lines; stdout: ProberMessage lines.
// It exits when stdin closes (the control side went away) and on a socket error (the control side
// restarts it).
//
// Two sockets: ICMP over IPv4, opened at start as always, and ICMPv6, opened on the first IPv6
// target (a box with IPv6 disabled, or a config without IPv6 targets, never needs it, and its
// failure to open must not stop the IPv4 probes: such a send fails alone, as a send-error). One
// identifier and one sequence space serve both; neither socket is bound to a source address or an
// interface: the kernel's routing picks both, for either family.
import { createRequire } from 'node:module';
import { endianness } from 'node:os';
import { formatIpv6, parseIpv6 } from '../../net/ipv6.js';
import { isIpv4 } from '../../net/ipv4.js';
import {
  ICMP6_FILTER_LEVEL,
  ICMP6_FILTER_OPTION,
  buildEchoRequest,
  buildEchoRequest6,
  icmp6Filter,
  parseEchoReply,
  parseEchoReply6,
  type IcmpDropReason,
} from './icmp.js';
import { LineSplitter, parseSendCommand, type ProberMessage } from './prober-protocol.js';

interface RawSocket {
  on(event: 'message', cb: (buf: Buffer, source: string) => void): void;
  on(event: 'error', cb: (err: Error) => void): void;
  send(buf: Buffer, offset: number, length: number, address: string, before: (() => void) | null, after: (err: Error | null, bytes: number) => void): void;
  setOption(level: number, option: number, value: Buffer, length: number): void;
  close(): void;
}
interface RawModule {
  createSocket(opts: { protocol: number; addressFamily?: number }): RawSocket;
  Protocol: { ICMP: number; ICMPv6: number };
  AddressFamily: { IPv4: number; IPv6: number };
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

let socket6: RawSocket | null = null;
/** Why the ICMPv6 socket would not open, once logged (it is retried on every IPv6 send). */
let socket6Failure: string | null = null;

/** The ICMPv6 socket, opened on first use; an Error when it cannot be (EAFNOSUPPORT with IPv6 off). */
function icmp6Socket(): RawSocket | Error {
  if (socket6 !== null) return socket6;
  try {
    const s = raw.createSocket({ addressFamily: raw.AddressFamily.IPv6, protocol: raw.Protocol.ICMPv6 });
    try {
      s.setOption(ICMP6_FILTER_LEVEL, ICMP6_FILTER_OPTION, icmp6Filter(endianness()), 32);
    } catch (err) {
      // not fatal: the parser counts what the filter would have kept out
      process.stderr.write(`prober: ICMP6_FILTER not set (every ICMPv6 message is read and counted): ${(err as Error).message}\n`);
    }
    s.on('error', (err) => {
      process.stderr.write(`prober: raw ICMPv6 socket error: ${err.message}\n`);
      process.exit(1);
    });
    s.on('message', (buf, source) => {
      const r = parseEchoReply6(buf, source, identifier);
      if (r.ok) emit({ t: 'reply', src: r.source, seq: r.sequence });
      else drop(r.reason);
    });
    socket6 = s;
    socket6Failure = null;
    return s;
  } catch (err) {
    const e = err as Error;
    if (socket6Failure !== e.message) process.stderr.write(`prober: raw ICMPv6 socket: ${e.message}\n`);
    socket6Failure = e.message;
    return e;
  }
}

const lines = new LineSplitter(
  (line) => {
    const cmd = parseSendCommand(line);
    if (cmd === null) return drop('bad-command');
    const sendError = (err: Error | null): void => {
      if (err) emit({ t: 'send-error', dst: cmd.dst, seq: cmd.seq, error: err.message });
    };
    if (isIpv4(cmd.dst)) {
      const req = buildEchoRequest(identifier, cmd.seq);
      socket.send(req, 0, req.length, cmd.dst, null, sendError);
      return;
    }
    const s6 = icmp6Socket();
    if (s6 instanceof Error) return sendError(s6);
    const req = buildEchoRequest6(identifier, cmd.seq);
    // raw-socket ignores inet_pton's verdict on the address: hand it the canonical text only
    s6.send(req, 0, req.length, formatIpv6(parseIpv6(cmd.dst)), null, sendError);
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

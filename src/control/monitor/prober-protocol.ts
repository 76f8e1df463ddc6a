// The JSON lines between the control side and the ICMP prober child (prober-main.ts). One object
// per line, each way; both sides bound a line's length and count what they cannot parse.
import { isIpv4 } from '../../net/ipv4.js';
import { isIpv6 } from '../../net/ipv6.js';

/** An IPv4 or IPv6 address (the prober probes both families). */
const isAddress = (v: unknown): v is string => typeof v === 'string' && (isIpv4(v) || isIpv6(v));

/** Longest line either side accepts: a message is well under 200 bytes. */
export const MAX_IPC_LINE_BYTES = 4096;

/** Control -> prober: send one echo request (ICMP to an IPv4 dst, ICMPv6 to an IPv6 one). */
export interface SendCommand {
  t: 'send';
  dst: string;
  seq: number;
}

/** Prober -> control. */
export type ProberMessage =
  /** The raw socket is open: probes can go. */
  | { t: 'ready' }
  /** An echo reply with our identifier (the control side matches the sequence and source). */
  | { t: 'reply'; src: string; seq: number }
  /** The kernel refused a send (no route, ...): that probe is lost. */
  | { t: 'send-error'; dst: string; seq: number; error: string }
  /** Datagrams dropped since the last report, by reason. */
  | { t: 'drops'; counts: Record<string, number> };

const u16 = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0xffff;

export function parseSendCommand(line: string): SendCommand | null {
  const v = parseObject(line);
  if (v === null || v.t !== 'send' || !isAddress(v.dst) || !u16(v.seq)) return null;
  return { t: 'send', dst: v.dst, seq: v.seq };
}

export function parseProberMessage(line: string): ProberMessage | null {
  const v = parseObject(line);
  if (v === null) return null;
  switch (v.t) {
    case 'ready':
      return { t: 'ready' };
    case 'reply':
      return isAddress(v.src) && u16(v.seq) ? { t: 'reply', src: v.src, seq: v.seq } : null;
    case 'send-error':
      return typeof v.dst === 'string' && u16(v.seq) ? { t: 'send-error', dst: v.dst, seq: v.seq, error: typeof v.error === 'string' ? v.error : '' } : null;
    case 'drops': {
      const counts = v.counts;
      if (typeof counts !== 'object' || counts === null) return null;
      const out: Record<string, number> = {};
      for (const [k, n] of Object.entries(counts as Record<string, unknown>)) {
        if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || k.length > 64) return null;
        out[k] = n;
      }
      return { t: 'drops', counts: out };
    }
    default:
      return null;
  }
}

function parseObject(line: string): Record<string, unknown> | null {
  if (line.length > MAX_IPC_LINE_BYTES) return null;
  try {
    const v = JSON.parse(line) as unknown;
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Splits a byte stream into lines, bounded: a line longer than the limit is discarded whole (up
 * to its newline) and reported once, so a runaway writer cannot grow our memory.
 */
export class LineSplitter {
  private buf = '';
  private discarding = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly onOverlong: () => void,
    private readonly maxBytes = MAX_IPC_LINE_BYTES,
  ) {}

  push(chunk: string): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) break;
      const piece = chunk.slice(start, nl);
      if (this.discarding) this.discarding = false;
      else if (this.buf.length + piece.length > this.maxBytes) this.onOverlong();
      else this.onLine(this.buf + piece);
      this.buf = '';
      start = nl + 1;
    }
    const rest = chunk.slice(start);
    if (this.discarding) return;
    if (this.buf.length + rest.length > this.maxBytes) {
      this.buf = '';
      this.discarding = true;
      this.onOverlong();
    } else this.buf += rest;
  }
}

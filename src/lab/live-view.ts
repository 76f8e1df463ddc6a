// The demo's live view: both boxes' HA state and sessions, the probes, the TCP connections and
// the step in progress. Rendering is pure (a snapshot in, lines out); LiveView only decides when
// and how to write them: redrawn in place on a terminal (ANSI cursor moves), one plain line per
// event or per second anywhere else (CI logs, pipes), never an escape code there.
import type { LabBox } from './topology.js';

export interface BoxSnapshot {
  /** HA state by the box's API, null when it does not answer (not started, killed, starting). */
  state: string | null;
  reason: string | null;
  /** Sessions in the box's table, null when unknown. */
  sessions: number | null;
  /** The daemon process exists. */
  running: boolean;
  /** Active/active demo: packets this box forwards per second (its API's counters); absent in active/passive. */
  forwardedPerS?: number | null;
}

/** What one client's traffic shows: its probes and its TCP connections (LiveSnapshot's fields). */
export interface ClientLine {
  /** The host and its way through the pair, e.g. "client (via device 0)". */
  label: string;
  probes: LiveSnapshot['probes'];
  tcp: LiveSnapshot['tcp'];
}

export interface LiveSnapshot {
  name: string;
  /** Since the demo started. */
  elapsedMs: number;
  /** What the demo is doing now ("building the lab", "waiting for the takeover", ...). */
  step: string;
  /** Since the step began. */
  stepElapsedMs: number;
  /** A slow step's limit, for a progress bar; null when the step has none. */
  stepTimeoutMs: number | null;
  boxes: Record<LabBox, BoxSnapshot>;
  /** null before the traffic starts. */
  probes: {
    /** By the sender; null before its first report. */
    sent: number | null;
    received: number;
    /** Missing between the first and the highest sequence received. */
    lost: number;
    /** The silence in progress at the receiver, ms; null before the first arrival. */
    silenceMs: number | null;
    maxGapMs: number;
  } | null;
  /** Established connections (from the client's socket table); alive null when not measured yet. */
  tcp: { alive: number | null; total: number } | null;
  /** Active/active demo: one line per client instead of `probes` and `tcp`. */
  clients?: ClientLine[];
}

export interface RenderOptions {
  /** Visible characters per line (longer lines are cut). */
  width?: number;
  /** ANSI colours (terminal only). */
  color?: boolean;
}

const BOXES: readonly LabBox[] = ['fwa', 'fwb'];
/** A silence at the receiver longer than this is shown as traffic stopped (five probe intervals). */
export const SILENCE_SHOWN_MS = 5;
const BAR_CELLS = 20;

const ESC = '\x1b[';
const paint = (on: boolean, code: string, text: string): string => (on ? `${ESC}${code}m${text}${ESC}0m` : text);

function stateColour(state: string | null): string {
  if (state === 'active' || state === 'active-primary' || state === 'active-secondary') return '32;1';
  if (state === 'passive') return '36';
  if (state === null) return '31';
  return '33';
}

function secs(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

function int(v: number): string {
  return String(Math.round(v)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** "[######..............] 1.2 s / 10.0 s", or a moving dot when the step has no limit. */
export function progressBar(elapsedMs: number, timeoutMs: number | null): string {
  if (timeoutMs !== null && timeoutMs > 0) {
    const filled = Math.max(0, Math.min(BAR_CELLS, Math.round((elapsedMs / timeoutMs) * BAR_CELLS)));
    return `[${'#'.repeat(filled)}${'.'.repeat(BAR_CELLS - filled)}] ${secs(elapsedMs)} / ${secs(timeoutMs)}`;
  }
  const pos = Math.floor(Math.max(0, elapsedMs) / 150) % BAR_CELLS;
  return `[${'.'.repeat(pos)}#${'.'.repeat(BAR_CELLS - pos - 1)}] ${secs(elapsedMs)}`;
}

function boxWords(box: BoxSnapshot): { state: string; rest: string } {
  const state = box.state ?? (box.running ? 'no answer' : 'not running');
  const reason = box.state !== null && box.reason ? ` (${box.reason})` : '';
  const sessions = box.sessions === null ? '' : `, ${int(box.sessions)} session${box.sessions === 1 ? '' : 's'}`;
  const rate = box.forwardedPerS === undefined || box.forwardedPerS === null ? '' : `, forwards ${int(box.forwardedPerS)} pkt/s`;
  return { state, rest: `${reason}${sessions}${rate}` };
}

function probeWords(p: NonNullable<LiveSnapshot['probes']>): string {
  const silence = p.silenceMs !== null && p.silenceMs > SILENCE_SHOWN_MS ? `, NO TRAFFIC for ${int(p.silenceMs)} ms` : '';
  const sent = p.sent === null ? '' : `${int(p.sent)} sent, `;
  return `${sent}${int(p.received)} received, ${int(p.lost)} lost${silence}, longest gap ${p.maxGapMs.toFixed(1)} ms`;
}

function tcpWords(t: NonNullable<LiveSnapshot['tcp']>): string {
  return `${t.alive === null ? '?' : t.alive} / ${t.total} connections established`;
}

/** Cuts a line to `width` visible characters, leaving escape sequences whole (and closing a colour cut off). */
export function fitWidth(line: string, width: number): string {
  let visible = 0;
  let out = '';
  let coloured = false;
  for (let i = 0; i < line.length;) {
    if (line.startsWith(ESC, i)) {
      const end = line.indexOf('m', i);
      if (end < 0) break;
      const seq = line.slice(i, end + 1);
      coloured = seq !== `${ESC}0m`;
      out += seq;
      i = end + 1;
      continue;
    }
    if (visible >= width) {
      if (coloured) out += `${ESC}0m`;
      return out;
    }
    out += line[i];
    visible++;
    i++;
  }
  return out;
}

/** The block a terminal shows, redrawn in place: one line per fact. */
export function renderLive(s: LiveSnapshot, opts: RenderOptions = {}): string[] {
  const color = opts.color ?? false;
  const width = opts.width ?? 100;
  const lines: string[] = [];
  lines.push(`${paint(color, '1', `tandem lab demo ${s.name}`)}  ${secs(s.elapsedMs)}  ${s.step}  ${progressBar(s.stepElapsedMs, s.stepTimeoutMs)}`);
  for (const box of BOXES) {
    const w = boxWords(s.boxes[box]);
    lines.push(`  ${box}    ${paint(color, stateColour(s.boxes[box].state), w.state)}${w.rest}`);
  }
  if (s.clients) {
    for (const c of s.clients) {
      lines.push(`  ${c.label}`);
      lines.push(...trafficLines(c.probes, c.tcp, color, '    '));
    }
  } else lines.push(...trafficLines(s.probes, s.tcp, color, '  '));
  return lines.map((l) => fitWidth(l, width));
}

/** The probes' and the TCP connections' lines, a silence in red, a lost connection in yellow. */
function trafficLines(probes: LiveSnapshot['probes'], tcp: LiveSnapshot['tcp'], color: boolean, indent: string): string[] {
  const lines: string[] = [];
  if (probes) {
    const silent = probes.silenceMs !== null && probes.silenceMs > SILENCE_SHOWN_MS;
    const text = probeWords(probes);
    lines.push(`${indent}probes ${silent ? paint(color, '31;1', text) : text}`);
  } else lines.push(`${indent}probes not started`);
  if (tcp) {
    const short = tcp.alive !== null && tcp.alive < tcp.total;
    const text = tcpWords(tcp);
    lines.push(`${indent}TCP    ${short ? paint(color, '33', text) : text}`);
  } else lines.push(`${indent}TCP    not started`);
  return lines;
}

/** The same facts on one line, for logs. */
export function renderPlainLine(s: LiveSnapshot): string {
  const parts = [
    `[${secs(s.elapsedMs)}] ${s.step}${s.stepElapsedMs >= 1000 ? ` (${secs(s.stepElapsedMs)}${s.stepTimeoutMs !== null ? ` of ${secs(s.stepTimeoutMs)}` : ''})` : ''}`,
    ...BOXES.map((box) => {
      const w = boxWords(s.boxes[box]);
      return `${box} ${w.state}${w.rest}`;
    }),
  ];
  if (s.clients) {
    for (const c of s.clients) {
      if (c.probes) parts.push(`${c.label} probes ${probeWords(c.probes)}`);
      if (c.tcp) parts.push(`${c.label} TCP ${tcpWords(c.tcp)}`);
    }
  } else {
    if (s.probes) parts.push(`probes ${probeWords(s.probes)}`);
    if (s.tcp) parts.push(`TCP ${tcpWords(s.tcp)}`);
  }
  return parts.join(' | ');
}

/** What changed enough to deserve a plain line before the next second: the step or a box's state. */
export function plainWorthy(prev: LiveSnapshot | null, next: LiveSnapshot): boolean {
  if (prev === null) return true;
  if (prev.step !== next.step) return true;
  return BOXES.some((b) => prev.boxes[b].state !== next.boxes[b].state || prev.boxes[b].running !== next.boxes[b].running);
}

export interface LiveViewOptions {
  /** Redraw in place with ANSI codes (a terminal) or print plain lines. */
  tty: boolean;
  color?: boolean;
  /** Terminal width; default the stream's columns, or 100. */
  width?: number;
  /** Plain mode prints at most one line this often unless something changed (default 1000 ms). */
  plainEveryMs?: number;
}

/** Writes snapshots and event lines to a stream; no timers of its own (the demo ticks it). */
export class LiveView {
  private drawn = 0;
  private last: LiveSnapshot | null = null;
  private lastPlain: LiveSnapshot | null = null;
  private closed = false;
  /** A stream whose lines become events (for the lab's own progress messages). */
  readonly stream: NodeJS.WritableStream;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly opts: LiveViewOptions,
  ) {
    let pending = '';
    this.stream = {
      write: (chunk: string | Uint8Array): boolean => {
        pending += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          this.event(pending.slice(0, nl));
          pending = pending.slice(nl + 1);
        }
        return true;
      },
    } as unknown as NodeJS.WritableStream;
  }

  private width(): number {
    const cols = (this.out as { columns?: number }).columns;
    return this.opts.width ?? (typeof cols === 'number' && cols > 20 ? cols - 1 : 100);
  }

  private erase(): string {
    // up to the block's first line, then clear to the end of the screen
    return this.drawn > 0 ? `${ESC}${this.drawn}A\r${ESC}J` : '';
  }

  private block(s: LiveSnapshot): string {
    const lines = renderLive(s, { width: this.width(), color: this.opts.color ?? true });
    this.drawn = lines.length;
    return `${lines.join('\n')}\n`;
  }

  /** A line that stays (above the live block on a terminal). */
  event(line: string): void {
    if (this.closed) {
      this.out.write(`${line}\n`);
      return;
    }
    if (!this.opts.tty) {
      this.out.write(`${line}\n`);
      return;
    }
    const erase = this.erase();
    this.drawn = 0;
    this.out.write(`${erase}${line}\n${this.last ? this.block(this.last) : ''}`);
  }

  update(s: LiveSnapshot): void {
    if (this.closed) return;
    this.last = s;
    if (this.opts.tty) {
      this.out.write(`${this.erase()}${this.block(s)}`);
      return;
    }
    const every = this.opts.plainEveryMs ?? 1000;
    if (plainWorthy(this.lastPlain, s) || s.elapsedMs - (this.lastPlain?.elapsedMs ?? 0) >= every) {
      this.lastPlain = s;
      this.out.write(`${renderPlainLine(s)}\n`);
    }
  }

  /** Leaves the last block on screen; later writes are plain. */
  close(): void {
    this.closed = true;
  }
}

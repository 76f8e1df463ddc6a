// What `tandem lab demo` watches while it runs: both boxes' APIs (state, session count) and the
// client's socket table, polled in the background and drawn by the live view (live-view.ts). A
// slow answer skips polls rather than piling requests up.
import { nsExec } from './exec.js';
import type { Lab } from './lab.js';
import type { BoxSnapshot, LiveSnapshot, LiveView } from './live-view.js';
import type { LabBox, LabHost } from './topology.js';

/**
 * Both APIs are asked (state, session count) at most this often: the lab's own waits poll every
 * 100 ms, but a demo that watches should weigh less than what it watches.
 */
export const API_POLL_MS = 500;
/** The client's socket table (a process per read) at most this often. */
const SS_POLL_MS = 1000;

/** Established TCP connections from a client (default: the client) to the stream server's `port` (its socket table). */
export async function establishedConnections(lab: Lab, port: number, host: LabHost = 'client'): Promise<number | null> {
  try {
    const { stdout } = await nsExec(lab.ns(host), 'ss', ['-Htn', 'state', 'established', 'dport', '=', `:${port}`], { timeoutMs: 2000 });
    return stdout.split('\n').filter((l) => l.trim() !== '').length;
  } catch {
    return null;
  }
}

/** What the live view shows, kept up to date by a poll of both APIs and the client's sockets. */
export class DemoMonitor {
  private readonly t0 = Date.now();
  private step = 'starting';
  private stepStart = Date.now();
  private stepTimeoutMs: number | null = null;
  readonly boxes: Record<LabBox, BoxSnapshot> = {
    fwa: { state: null, reason: null, sessions: null, running: false },
    fwb: { state: null, reason: null, sessions: null, running: false },
  };
  probes: LiveSnapshot['probes'] = null;
  tcp: LiveSnapshot['tcp'] = null;
  /** Some box answered a session count at least once (the tests' stand-in never does). */
  sessionsSeen = false;
  /** Read the client's sockets (once traffic runs). */
  watchTcp = false;
  private timer: NodeJS.Timeout | undefined;
  private polling = false;
  private lastPoll = 0;
  private lastSs = 0;

  constructor(
    private readonly lab: Lab,
    private readonly view: LiveView,
    private readonly everyMs: number,
    /** The TCP streams: the server port counted in the client's socket table, and how many there are. */
    private readonly streams: { port: number; total: number },
  ) {}

  setStep(step: string, timeoutMs: number | null = null): void {
    this.step = step;
    this.stepStart = Date.now();
    this.stepTimeoutMs = timeoutMs;
    this.view.update(this.snapshot());
  }

  snapshot(): LiveSnapshot {
    const now = Date.now();
    return {
      name: this.lab.name,
      elapsedMs: now - this.t0,
      step: this.step,
      stepElapsedMs: now - this.stepStart,
      stepTimeoutMs: this.stepTimeoutMs,
      boxes: { fwa: { ...this.boxes.fwa }, fwb: { ...this.boxes.fwb } },
      probes: this.probes ? { ...this.probes } : null,
      tcp: this.tcp ? { ...this.tcp } : null,
    };
  }

  onReceiver(live: Record<string, unknown>): void {
    const num = (k: string): number => (typeof live[k] === 'number' ? live[k] : 0);
    this.probes = {
      sent: this.probes?.sent ?? null,
      received: num('received'),
      lost: num('lost'),
      silenceMs: typeof live.sinceLastMs === 'number' ? live.sinceLastMs : null,
      maxGapMs: num('maxGapMs'),
    };
  }

  onSender(live: Record<string, unknown>): void {
    const sent = typeof live.sent === 'number' ? live.sent : null;
    this.probes = this.probes ? { ...this.probes, sent } : { sent, received: 0, lost: 0, silenceMs: null, maxGapMs: 0 };
  }

  start(): void {
    this.timer = setInterval(() => this.tick(), this.everyMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    // the APIs at most every API_POLL_MS, and a slow answer (a box under load) skips polls rather
    // than piling requests up; the view redraws meanwhile with what is known
    const now = Date.now();
    if (!this.polling && now - this.lastPoll >= API_POLL_MS) {
      this.polling = true;
      this.lastPoll = now;
      void this.poll().finally(() => {
        this.polling = false;
      });
    }
    this.view.update(this.snapshot());
  }

  async poll(): Promise<void> {
    await Promise.all(
      (['fwa', 'fwb'] as const).map(async (box) => {
        const running = this.lab.pid(box) !== null;
        const st = running ? await this.lab.boxState(box, 500) : null;
        let sessions: number | null = null;
        if (st) {
          try {
            sessions = (await this.lab.api(box, 500).sessions({}, 0)).total;
            this.sessionsSeen = true;
          } catch {
            sessions = null; // a daemon without the sessions endpoint (the tests' stand-in)
          }
        }
        this.boxes[box] = { state: st?.state ?? null, reason: st?.reason ?? null, sessions, running };
      }),
    );
    // ss is a process per call: once a second is enough
    if (this.watchTcp && Date.now() - this.lastSs >= SS_POLL_MS) {
      this.lastSs = Date.now();
      const alive = await establishedConnections(this.lab, this.streams.port);
      this.tcp = { alive, total: this.tcp?.total ?? this.streams.total };
    }
  }
}

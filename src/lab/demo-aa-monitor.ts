// What `tandem lab demo --mode active-active` watches: what the active/passive demo's monitor
// watches (both boxes' state and sessions), plus each box's counters (its packet rates, kept as
// samples for the tables and the picture) and each client's probes and TCP connections.
import { rateBetween, sampleOf, type CounterSample } from './box-rates.js';
import { DemoMonitor, establishedConnections } from './demo-monitor.js';
import type { Lab } from './lab.js';
import type { ClientLine, LiveSnapshot, LiveView } from './live-view.js';
import type { LabBox } from './topology.js';

/** The two clients of the active/active lab, in the order shown. */
export const AA_CLIENTS = ['client', 'client2'] as const;
export type AaClient = (typeof AA_CLIENTS)[number];

/** Each client's way out (src/lab/topology.ts hostGateway): its gateway is this device's address. */
export const CLIENT_VIA: Record<AaClient, string> = { client: 'via device 0', client2: 'via device 1' };

/** A client's socket table (a process per read) at most this often. */
const SS_POLL_MS = 1000;

export class PairDemoMonitor extends DemoMonitor {
  /** Every counters sample of both boxes since the start, in arrival order. */
  readonly samples: CounterSample[] = [];
  private readonly traffic: Record<AaClient, { probes: LiveSnapshot['probes']; tcp: LiveSnapshot['tcp'] }> = {
    client: { probes: null, tcp: null },
    client2: { probes: null, tcp: null },
  };
  /** Read the clients' sockets (once their streams run). */
  watchClients = false;
  private lastClientSs = 0;

  constructor(
    private readonly labRef: Lab,
    view: LiveView,
    everyMs: number,
    private readonly stream: { port: number; total: number },
  ) {
    super(labRef, view, everyMs, stream);
  }

  override snapshot(): LiveSnapshot {
    const s = super.snapshot();
    const boxes = { fwa: { ...s.boxes.fwa, forwardedPerS: this.lastRate('fwa') }, fwb: { ...s.boxes.fwb, forwardedPerS: this.lastRate('fwb') } };
    const clients: ClientLine[] = AA_CLIENTS.map((c) => ({ label: `${c} (${CLIENT_VIA[c]})`, probes: this.traffic[c].probes, tcp: this.traffic[c].tcp }));
    return { ...s, boxes, clients };
  }

  /** The receiver's live report of a client's probes (the same fields as DemoMonitor.onReceiver). */
  onClientReceiver(c: AaClient, live: Record<string, unknown>): void {
    const num = (k: string): number => (typeof live[k] === 'number' ? live[k] : 0);
    this.traffic[c].probes = {
      sent: this.traffic[c].probes?.sent ?? null,
      received: num('received'),
      lost: num('lost'),
      silenceMs: typeof live.sinceLastMs === 'number' ? live.sinceLastMs : null,
      maxGapMs: num('maxGapMs'),
    };
  }

  onClientSender(c: AaClient, live: Record<string, unknown>): void {
    const sent = typeof live.sent === 'number' ? live.sent : null;
    const p = this.traffic[c].probes;
    this.traffic[c].probes = p ? { ...p, sent } : { sent, received: 0, lost: 0, silenceMs: null, maxGapMs: 0 };
  }

  override async poll(): Promise<void> {
    await Promise.all([super.poll(), ...(['fwa', 'fwb'] as const).map((box) => this.sampleCounters(box))]);
    if (this.watchClients && Date.now() - this.lastClientSs >= SS_POLL_MS) {
      this.lastClientSs = Date.now();
      await Promise.all(
        AA_CLIENTS.map(async (c) => {
          this.traffic[c].tcp = { alive: await establishedConnections(this.labRef, this.stream.port, c), total: this.stream.total };
        }),
      );
    }
  }

  /** One counters sample of a running box; a box that does not answer is simply not sampled. */
  private async sampleCounters(box: LabBox): Promise<void> {
    if (this.labRef.pid(box) === null) return;
    try {
      const answer = await this.labRef.api(box, 500).counters();
      this.samples.push(sampleOf(box, Date.now(), answer));
    } catch {
      // busy, starting or killed: the next poll asks again
    }
  }

  /** The box's forwarding rate between its last two samples; null when it has none (killed, starting). */
  private lastRate(box: LabBox): number | null {
    const mine = this.samples.filter((x) => x.box === box).slice(-2);
    if (mine.length < 2 || this.labRef.pid(box) === null) return null;
    return rateBetween(mine[0], mine[1])?.forwarded ?? null;
  }
}

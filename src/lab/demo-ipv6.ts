// The demo's IPv6 traffic beside its IPv4 traffic (issue 16): the same 1 ms UDP probes and a few
// echoed TCP streams, client 2001:db8:1::10 -> server 2001:db8:2::10 through the pair (no NAT),
// through the same failure, measured the same way, so the table shows both families' gaps.
import { join } from 'node:path';
import type { DemoIpv6 } from './demo-result.js';
import { gapAcross, wallGaps } from './demo-timeline.js';
import type { Lab } from './lab.js';
import type { ReceiverSummary, SenderSummary } from './probe.js';
import type { StreamSummary } from './stream.js';
import { LAB_ADDR6 } from './topology.js';
import { startProbeReceiver, startProbeSender, startStreamClient, startStreamServer, type LabProcess } from './traffic.js';

/** Within the lab policy's lab-test range (udp/tcp 5000-5999), apart from the IPv4 ports. */
export const DEMO_PROBE6_PORT = 5010;
export const DEMO_STREAM6_PORT = 5011;
export const DEMO_TCP6_CONNS = 4;

export interface Traffic6 {
  receiver: LabProcess<ReceiverSummary>;
  echo: LabProcess<Record<string, never>>;
  sender: LabProcess<SenderSummary>;
  streams: LabProcess<StreamSummary> & { connected: number };
}

/** Starts the IPv6 receiver and echo server, then the probes and streams; each helper is handed to `keep` for the teardown. */
export async function startTraffic6(lab: Lab, intervalMs: number, keep: (p: LabProcess<unknown>) => void): Promise<Traffic6> {
  const common = { repo: lab.repo, marker: lab.runDir };
  const receiver = await startProbeReceiver(lab.ns('server'), {
    ...common,
    port: DEMO_PROBE6_PORT,
    family: 6,
    outFile: join(lab.runDir, 'probe6.json'),
    pidFile: join(lab.runDir, 'probe6-receiver.pid'),
    binMs: 1,
  });
  keep(receiver);
  const echo = await startStreamServer(lab.ns('server'), { ...common, port: DEMO_STREAM6_PORT, pidFile: join(lab.runDir, 'stream6-server.pid') });
  keep(echo);
  const sender = await startProbeSender(lab.ns('client'), {
    ...common,
    to: `[${LAB_ADDR6.server}]:${DEMO_PROBE6_PORT}`,
    intervalMs,
    pidFile: join(lab.runDir, 'probe6-sender.pid'),
  });
  keep(sender);
  const streams = await startStreamClient(lab.ns('client'), {
    ...common,
    to: `[${LAB_ADDR6.server}]:${DEMO_STREAM6_PORT}`,
    conns: DEMO_TCP6_CONNS,
    pidFile: join(lab.runDir, 'stream6-client.pid'),
  });
  keep(streams);
  return { receiver, echo, sender, streams };
}

export interface Counted6 {
  sent: SenderSummary;
  recv: ReceiverSummary;
  tcp: StreamSummary;
}

/** Senders first, then (after the last probes in flight, which the caller waited for) the receiver and echo server. */
export async function stopSenders6(t: Traffic6): Promise<Pick<Counted6, 'sent' | 'tcp'>> {
  return { sent: await t.sender.stop(), tcp: await t.streams.stop() };
}

export async function stopReceivers6(t: Traffic6): Promise<ReceiverSummary> {
  const recv = await t.receiver.stop();
  await t.echo.stop().catch(() => undefined);
  return recv;
}

/** The IPv6 figures: the silence across the takeover (kill to takeover), the run's loss, the TCP survivors. */
export function measure6({ sent, recv, tcp }: Counted6, killedAt: number, takeoverAt: number): DemoIpv6 {
  const gap = gapAcross(wallGaps(recv), killedAt, takeoverAt);
  return {
    probes: { sent: sent.sent, received: recv.received, lostDuringRun: recv.lost, maxGapMs: Math.round(recv.maxGapMs * 10) / 10 },
    changeGapMs: gap ? Math.round(gap.gapMs * 10) / 10 : 0,
    tcp: { total: tcp.total, connected: tcp.connected, survived: tcp.survived, reset: tcp.reset },
  };
}

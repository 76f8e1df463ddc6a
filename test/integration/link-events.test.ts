// The dataplane's capture handles when a box's own traffic devices change under it, with real
// daemons in the lab: lan0/wan0 set down and up inside the box's namespace (not the switch port:
// the box's handle on a device that is down fails with ENETDOWN), deleted and created again (a new
// ifindex and MAC), and given another MTU. src/dataplane/ports.ts closes a failed handle, counts
// io-error, opens it again when the device is back (io-reopened) and hands a new MTU or MAC to the
// pipeline (device-changed). In every case nobody dies (same PIDs), the pair settles to one active
// and one passive, and 1 ms UDP probes from the client reach the server afterwards.
//
// Both frame I/O backends (device.dataplane.io: ring, the default, and pcap), one lab each (the
// recommended timer profile, as in monitor.test.ts: a shared host's scheduling stalls are no
// freezes here); every case starts from whatever pair is settled, puts the links back in
// afterEach, and a case that fails leaves a fresh lab to the next one (its logs are copied to
// /tmp/tandem-link-events/<lab>/ first).
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Lab, LabBox } from '../../src/lab/lab.js';
import { repoRoot } from '../../src/lab/lab.js';
import type { ProbeProgress } from '../../src/lab/gaps.js';
import type { ReceiverSummary, SenderSummary } from '../../src/lab/probe.js';
import { startProbeReceiver, startProbeSender, type LabProcess } from '../../src/lab/traffic.js';
import type { DataplaneStatus, InterfaceStatus } from '../../src/dataplane/engine.js';
import { isRoot, upLab } from './helpers/lab.js';
import { boxListeners, labConfigWith, ping, waitState } from './helpers/daemon.js';
import { deleteBoxLink, deviceInfo, LAB_MTU, recreateBoxLink, restoreBoxLinks, setBoxDevice, setBoxMtu, type TrafficLink } from './helpers/links.js';
import { metricValue, scrape } from './metrics-client.js';

const SERVER = '10.0.2.10';
const PROBE_PORT = 5201;
/** How long a device stays down in the admin down/up cases. */
const DOWN_MS = 2000;
/** Probes that must arrive in one second for "traffic flows" (1000 are sent; the receiver reports every 100 ms). */
const FLOWING_PER_S = 600;
const LOG_KEEP_ROOT = '/tmp/tandem-link-events';

/**
 * The error a handle on a device set down or deleted is closed with: the ring backend has the
 * socket's errno; cap (libpcap) only learns that its poll failed (libuv: EBADF, see
 * cap-errors.test.ts), which io-pcap.ts names from the device's state (ENETDOWN, ENODEV).
 */
const downError = (): RegExp => /^(ENETDOWN|ENODEV): /;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let lab: Lab | null = null;
/** The backend of the suite that runs (the suites run one after the other). */
let io: 'ring' | 'pcap' = 'ring';
let configDir: string | null = null;
/** The last case failed or could not put the lab back: the next one gets a fresh lab. */
let dirty = false;
const cleanups: (() => Promise<void>)[] = [];

/** The lab config with the recommended timers (100 ms heartbeats) and the suite's backend; link and path monitoring as in deploy/lab. */
function labConfig(): string {
  configDir ??= labConfigWith((cfg) => {
    cfg.shared.ha.timers = { profile: 'recommended' };
    cfg.device.dataplane = { io };
  });
  return configDir;
}

function keepLogs(l: Lab): string {
  const dir = join(LOG_KEEP_ROOT, l.name);
  mkdirSync(dir, { recursive: true });
  try {
    for (const f of readdirSync(l.runDir)) if (f.endsWith('.log') || f.endsWith('.yaml')) copyFileSync(join(l.runDir, f), join(dir, f));
  } catch {
    // no run dir: nothing to keep
  }
  return dir;
}

/** The shared lab, settled to one active and one passive with both daemons alive; a fresh one when it is not. */
async function settledLab(): Promise<Lab> {
  if (lab && !dirty) {
    try {
      await lab.waitForPair(10_000);
      if (lab.pid('fwa') !== null && lab.pid('fwb') !== null) return lab;
    } catch (err) {
      process.stderr.write(`link-events: lab ${lab.name} did not settle (${String(err)}); starting a fresh one\n`);
    }
  }
  if (lab) {
    process.stderr.write(`link-events: logs of lab ${lab.name} kept in ${keepLogs(lab)}\n`);
    await lab.down();
    lab = null;
  }
  lab = await upLab({ configDir: labConfig() });
  dirty = false;
  return lab;
}

async function dataplane(l: Lab, box: LabBox): Promise<DataplaneStatus> {
  const dp = (await l.api(box).status()).dataplane as DataplaneStatus | { error: string } | undefined;
  if (!dp || !('interfaces' in dp)) throw new Error(`${box}: no dataplane status (${JSON.stringify(dp)})`);
  return dp;
}

async function iface(l: Lab, box: LabBox, name: TrafficLink): Promise<InterfaceStatus> {
  const itf = (await dataplane(l, box)).interfaces.find((i) => i.name === name);
  if (!itf) throw new Error(`${box}: no interface ${name} in the dataplane status`);
  return itf;
}

/** Waits until the box's capture handle on `name` is open (or closed) and returns the interface then. */
async function waitCapture(l: Lab, box: LabBox, name: TrafficLink, open: boolean, timeoutMs = 3000): Promise<InterfaceStatus> {
  let last: InterfaceStatus | null = null;
  await l.waitFor(
    async () => {
      last = await iface(l, box, name).catch(() => null);
      return last?.capture.open === open;
    },
    timeoutMs,
    `${box}'s ${name} capture handle to be ${open ? 'open' : 'closed'} (last: ${JSON.stringify(last)})`,
  );
  return last!;
}

interface Counters {
  ioError: number;
  ioReopened: number;
  deviceChanged: number;
  forwarded: number;
  oversize: number;
  icmpErrorSent: number;
}

async function counters(l: Lab, box: LabBox): Promise<Counters> {
  const m = await scrape(boxListeners(l, box).metrics);
  const ev = (event: string) => metricValue(m, 'tandem_dataplane_packets_total', { event });
  return {
    ioError: ev('io-error'),
    ioReopened: ev('io-reopened'),
    deviceChanged: ev('device-changed'),
    forwarded: ev('forwarded'),
    oversize: metricValue(m, 'tandem_dataplane_drops_total', { reason: 'oversize' }),
    icmpErrorSent: ev('icmp-error-sent'),
  };
}

function delta(after: Counters, before: Counters): Counters {
  return {
    ioError: after.ioError - before.ioError,
    ioReopened: after.ioReopened - before.ioReopened,
    deviceChanged: after.deviceChanged - before.deviceChanged,
    forwarded: after.forwarded - before.forwarded,
    oversize: after.oversize - before.oversize,
    icmpErrorSent: after.icmpErrorSent - before.icmpErrorSent,
  };
}

async function waitCounter(l: Lab, box: LabBox, before: Counters, key: keyof Counters, min: number, timeoutMs = 3000): Promise<Counters> {
  let d: Counters | null = null;
  await l.waitFor(
    async () => {
      d = delta(await counters(l, box), before);
      return d[key] >= min;
    },
    timeoutMs,
    `${box} to count ${key} >= ${min} (deltas: ${JSON.stringify(d)})`,
  );
  return d!;
}

/** Probes every 1 ms from the client to the server for the whole case. */
interface Probes {
  received(): number;
  progress(): ProbeProgress | null;
  stop(): Promise<{ sent: SenderSummary; got: ReceiverSummary }>;
}

async function startProbes(l: Lab): Promise<Probes> {
  const repo = repoRoot();
  let live: ProbeProgress | null = null;
  const rx: LabProcess<ReceiverSummary> = await startProbeReceiver(l.ns('server'), {
    repo,
    marker: l.runDir,
    port: PROBE_PORT,
    outFile: join(l.runDir, 'probe-rx.json'),
    pidFile: join(l.runDir, 'probe-rx.pid'),
    liveMs: 100,
    onLive: (p) => {
      live = p as unknown as ProbeProgress;
    },
  });
  const tx: LabProcess<SenderSummary> = await startProbeSender(l.ns('client'), {
    repo,
    marker: l.runDir,
    to: `${SERVER}:${PROBE_PORT}`,
    intervalMs: 1,
    pidFile: join(l.runDir, 'probe-tx.pid'),
  });
  let stopped: Promise<{ sent: SenderSummary; got: ReceiverSummary }> | null = null;
  const probes: Probes = {
    received: () => live?.received ?? 0,
    progress: () => live,
    stop: () =>
      (stopped ??= (async () => {
        const sent = await tx.stop();
        await sleep(200);
        return { sent, got: await rx.stop() };
      })()),
  };
  cleanups.push(async () => {
    await probes.stop().catch(() => undefined);
  });
  await l.waitFor(() => probes.received() > 100, 5000, 'the first probes at the server');
  return probes;
}

/** Traffic flows: at least FLOWING_PER_S probes arrive in the next second. */
async function expectFlowing(p: Probes, what: string): Promise<void> {
  const r0 = p.received();
  await sleep(1000);
  const got = p.received() - r0;
  expect(got, `probes arriving at the server in 1 s ${what}`).toBeGreaterThanOrEqual(FLOWING_PER_S);
}

async function state(l: Lab, box: LabBox): Promise<{ state: string; reason: string }> {
  const s = await l.boxState(box);
  if (s === null) throw new Error(`${box} does not answer`);
  return s;
}

function pids(l: Lab): Record<LabBox, number | null> {
  return { fwa: l.pid('fwa'), fwb: l.pid('fwb') };
}

/** A capture-handle log line of the box's daemon (JSON lines), newest last. */
function logLines(l: Lab, box: LabBox, msg: string): Record<string, unknown>[] {
  return readFileSync(l.logPath(box), 'utf8')
    .split('\n')
    .filter((line) => line.includes(msg))
    .map((line) => {
      try {
        return JSON.parse(line) as Record<string, unknown>;
      } catch {
        return null;
      }
    })
    .filter((x): x is Record<string, unknown> => x !== null && x.msg === msg);
}

/**
 * A case on the settled shared lab: `fn` gets the lab with the roles at the start; the same PIDs
 * at the end and a settled pair are checked for every case.
 */
function labCase(name: string, fn: (l: Lab, roles: { active: LabBox; passive: LabBox }) => Promise<void>, timeoutMs = 45_000): void {
  it(
    name,
    async () => {
      const l = await settledLab();
      try {
        const roles = await l.waitForPair(10_000);
        // every handle open at the start, on the suite's backend
        for (const box of ['fwa', 'fwb'] as const) {
          const dp = await dataplane(l, box);
          expect(dp.io).toBe(io);
          for (const itf of dp.interfaces) expect(itf.capture, `${box} ${itf.name} at the start`).toMatchObject({ open: true, error: null });
        }
        const before = pids(l);
        expect(before.fwa).not.toBeNull();
        expect(before.fwb).not.toBeNull();
        await fn(l, { active: roles.active, passive: roles.passive });
        expect(pids(l), 'the daemons that ran at the start (nobody died)').toEqual(before);
        const end = await l.waitForPair(10_000);
        expect([end.active, end.passive].sort()).toEqual(['fwa', 'fwb']);
      } catch (err) {
        dirty = true;
        throw err;
      }
    },
    timeoutMs,
  );
}

for (const backend of ['ring', 'pcap'] as const)
  describe.skipIf(!isRoot())(`traffic devices that go away under the dataplane (${backend} backend)`, () => {
    beforeAll(async () => {
      io = backend;
      dirty = false;
      lab = await upLab({ configDir: labConfig() });
    }, 60_000);

    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
      if (!lab) return;
      try {
        await restoreBoxLinks(lab);
      } catch (err) {
        process.stderr.write(`link-events: could not restore the links of ${lab.name}: ${String(err)}\n`);
        dirty = true;
      }
      if (dirty) {
        process.stderr.write(`link-events: logs of lab ${lab.name} kept in ${keepLogs(lab)}\n`);
        await lab.down();
        lab = null;
      }
    });

    afterAll(async () => {
      if (lab) await lab.down();
      lab = null;
      if (configDir) rmSync(configDir, { recursive: true, force: true });
      configDir = null;
    });

    for (const link of ['lan', 'wan'] as const) {
      labCase(
        `${link}0 of the ACTIVE set down for 2 s: the passive takes over; set up, the old active is passive with its handle open again`,
        async (l, { active, passive }) => {
          const probes = await startProbes(l);
          const c0 = await counters(l, active);

          await setBoxDevice(l, active, link, false);
          const downAt = Date.now();
          const taken = await waitState(l, passive, 'active', 5000);
          expect(['peer-request', 'peer-not-functional']).toContain(taken.reason);
          await waitState(l, active, 'non-functional', 5000);
          expect((await l.api(active).status()).local.faults).toContain('link-monitor:links');
          // the failed handle is closed with the kernel's reason and counted; the other one stays open
          const closed = await waitCapture(l, active, link, false);
          expect(closed.capture.error).toMatch(downError());
          await waitCounter(l, active, c0, 'ioError', 1);
          expect((await iface(l, active, link === 'lan' ? 'wan' : 'lan')).capture.open).toBe(true);
          // the new active carries the probes while the device is down
          await expectFlowing(probes, `through ${passive} while ${active}'s ${link}0 is down`);

          await sleep(Math.max(0, DOWN_MS - (Date.now() - downAt)));
          const stillDown = await iface(l, active, link);
          expect(stillDown.capture.open).toBe(false);
          expect(stillDown.capture.downMs).toBeGreaterThanOrEqual(DOWN_MS - 500);
          await setBoxDevice(l, active, link, true);

          // preemption is off: the old active comes back passive and stays so
          expect((await waitState(l, active, 'passive', 5000)).reason).toBe('faults-cleared');
          expect((await state(l, passive)).state).toBe('active');
          const open = await waitCapture(l, active, link, true, 2000);
          expect(open.capture).toMatchObject({ open: true, error: null, downMs: null });
          const d = await waitCounter(l, active, c0, 'ioReopened', 1);
          expect(d.ioError).toBeGreaterThanOrEqual(1);
          expect(logLines(l, active, 'capture handle open again').some((x) => x.device === `${link}0`)).toBe(true);

          await expectFlowing(probes, 'after the device is up again');
          const { sent, got } = await probes.stop();
          expect(got.lastSeq).toBeGreaterThan(sent.sent - 100);
          process.stderr.write(`link-events (${io}): ${active} ${link}0 down: longest probe gap ${got.maxGapMs} ms, ${got.lost} of ${sent.sent} lost\n`);
        },
      );
    }

    labCase('lan0 and then wan0 of the PASSIVE set down for 2 s and up: no failover, handles reopen', async (l, { active, passive }) => {
      const probes = await startProbes(l);
      const intoActive = async (box: LabBox) => (await l.api(box).status()).transitions.filter((t) => t.to === 'active').length;
      const takeovers0 = { active: await intoActive(active), passive: await intoActive(passive) };
      for (const link of ['lan', 'wan'] as const) {
        const c0 = await counters(l, passive);
        await setBoxDevice(l, passive, link, false);
        const downAt = Date.now();
        // watch both boxes for the whole outage: the active stays active
        const seen: string[] = [];
        let sawClosed = false;
        while (Date.now() - downAt < DOWN_MS) {
          const [a, p] = await Promise.all([l.boxState(active), l.boxState(passive)]);
          const pair = `${a?.state}/${p?.state}`;
          if (seen[seen.length - 1] !== pair) seen.push(pair);
          expect(a?.state, `${active} stays active while ${passive}'s ${link}0 is down (seen: ${seen.join(' ')})`).toBe('active');
          if (!sawClosed) sawClosed = (await iface(l, passive, link)).capture.open === false;
          await sleep(50);
        }
        expect(sawClosed, `${passive}'s ${link} handle closed while the device was down`).toBe(true);
        expect((await iface(l, passive, link)).capture.error).toMatch(downError());
        // the link monitor takes the passive out of the election meanwhile
        expect((await state(l, passive)).state).toBe('non-functional');
        await waitCounter(l, passive, c0, 'ioError', 1);

        await setBoxDevice(l, passive, link, true);
        await waitState(l, passive, 'passive', 5000);
        await waitCapture(l, passive, link, true, 2000);
        await waitCounter(l, passive, c0, 'ioReopened', 1);
        expect((await state(l, active)).state).toBe('active');
      }
      expect({ active: await intoActive(active), passive: await intoActive(passive) }, 'no role change on either box').toEqual(takeovers0);

      await expectFlowing(probes, "after the passive's devices are back");
      const { sent, got } = await probes.stop();
      expect(got.lastSeq).toBeGreaterThan(sent.sent - 100);
      // the active forwarded throughout: a passive's device is none of the traffic's business
      expect(got.maxGapMs, "longest probe gap while the passive's devices went down and up").toBeLessThan(1000);
      process.stderr.write(`link-events (${io}): ${passive} lan0/wan0 down: longest probe gap ${got.maxGapMs} ms, ${got.lost} of ${sent.sent} lost\n`);
    });

    labCase(
      'lan0 of the PASSIVE deleted and created again: the handle reopens on the new device; after a planned failover traffic flows through it',
      async (l, { active, passive }) => {
        const probes = await startProbes(l);
        const old = await deviceInfo(l, passive, 'lan0');
        expect(old).not.toBeNull();
        const c0 = await counters(l, passive);

        await deleteBoxLink(l, passive, 'lan');
        const closed = await waitCapture(l, passive, 'lan', false);
        // the handle's own error, or the device check's (gone, or another ifindex) if that looked first
        expect(closed.capture.error).toMatch(new RegExp(`${downError().source}|^(ENODEV|EIFINDEX): `));
        await waitCounter(l, passive, c0, 'ioError', 1);
        await waitState(l, passive, 'non-functional', 5000);
        expect((await state(l, active)).state).toBe('active');
        await sleep(500);
        // the handle stays closed while the device does not exist
        expect((await iface(l, passive, 'lan')).capture.open).toBe(false);

        await recreateBoxLink(l, passive, 'lan');
        const now = await deviceInfo(l, passive, 'lan0');
        expect(now).not.toBeNull();
        expect(now!.ifindex).not.toBe(old!.ifindex);
        const reopened = await waitCapture(l, passive, 'lan', true, 2000);
        const d = await waitCounter(l, passive, c0, 'ioReopened', 1);
        expect(d.ioError).toBeGreaterThanOrEqual(1);
        // bound to the new device: the log names its ifindex, and the pipeline took its new MAC
        const opened = logLines(l, passive, 'capture handle open again').filter((x) => x.device === 'lan0');
        expect(opened.at(-1)?.ifindex).toBe(now!.ifindex);
        expect(reopened.mac).toBe(now!.address);
        expect(reopened.mtu).toBe(LAB_MTU);
        expect((await waitCounter(l, passive, c0, 'deviceChanged', 1)).deviceChanged).toBeGreaterThanOrEqual(1);
        // back from non-functional: tentative, then passive once its bulk sync is done, so a
        // planned failover may hand it the role
        await waitState(l, passive, 'passive', 10_000);
        expect((await state(l, active)).state).toBe('active');

        // a planned failover onto the box whose device was created again
        const f0 = await counters(l, passive);
        await l.api(active).failover();
        expect((await waitState(l, passive, 'active', 5000)).reason).toBe('peer-request');
        expect((await waitState(l, active, 'passive', 5000)).reason).toBe('operator-failover');
        await expectFlowing(probes, `through ${passive} after the failover`);
        const f1 = delta(await counters(l, passive), f0);
        expect(f1.forwarded, `frames ${passive} forwarded after the failover`).toBeGreaterThanOrEqual(FLOWING_PER_S);
        // both directions through the new lan0: echo requests in, replies out
        expect(await ping(l, SERVER)).toBe(true);
        const { sent, got } = await probes.stop();
        expect(got.lastSeq).toBeGreaterThan(sent.sent - 100);
        process.stderr.write(
          `link-events (${io}): ${passive} lan0 re-created, failover onto it: longest probe gap ${got.maxGapMs} ms, ${got.lost} of ${sent.sent} lost\n`,
        );
      },
    );

    labCase(
      "MTU of the ACTIVE's wan0 1500 -> 1400: the pipeline uses it within ~1 s; a 1450-byte datagram is not forwarded, a small one is; restored",
      async (l, { active, passive }) => {
        const bigPing = (): Promise<boolean> =>
          l.nsExec('client', 'ping', ['-c', '2', '-i', '0.2', '-W', '1', '-M', 'do', '-s', '1422', SERVER]).then(
            () => true,
            () => false,
          );
        const smallPing = (): Promise<boolean> => ping(l, SERVER, 2);
        // 1422 bytes of ICMP data: a 1450-byte IPv4 datagram with DF, fine at 1500
        expect(await bigPing(), '1450 bytes before the change').toBe(true);
        const probes = await startProbes(l);
        const c0 = await counters(l, active);

        await setBoxMtu(l, active, 'wan', 1400);
        const t0 = Date.now();
        await l.waitFor(async () => (await iface(l, active, 'wan')).mtu === 1400, 3000, `${active}'s dataplane to use MTU 1400 on wan`);
        const tookMs = Date.now() - t0;
        expect(tookMs, 'ms until the dataplane status shows the new MTU').toBeLessThan(1500);
        const d = await waitCounter(l, active, c0, 'deviceChanged', 1);
        // a ring's slots are sized for the MTU: the handle was reopened for it
        expect(d.ioError).toBeGreaterThanOrEqual(1);
        await waitCounter(l, active, c0, 'ioReopened', 1);
        await waitCapture(l, active, 'wan', true, 2000);
        await expectFlowing(probes, 'with wan0 at MTU 1400');

        const o0 = await counters(l, active);
        expect(await bigPing(), '1450 bytes with DF through a 1400 MTU').toBe(false);
        // the first is dropped and answered with fragmentation needed (MTU 1400): the client's
        // kernel then refuses the second itself (path MTU discovery, docs/firewall.md)
        const o1 = delta(await counters(l, active), o0);
        expect(o1.oversize, 'oversize drops on the active').toBeGreaterThanOrEqual(1);
        expect(o1.icmpErrorSent, 'fragmentation needed sent by the active').toBeGreaterThanOrEqual(1);
        expect(await smallPing(), 'a small datagram through a 1400 MTU').toBe(true);

        await setBoxMtu(l, active, 'wan', LAB_MTU);
        await l.waitFor(async () => (await iface(l, active, 'wan')).mtu === LAB_MTU, 3000, `${active}'s dataplane back at MTU ${LAB_MTU}`);
        await waitCapture(l, active, 'wan', true, 2000);
        // the client learnt the 1400-byte path MTU (it keeps it 10 minutes): forget it
        await l.nsExec('client', 'ip', ['route', 'flush', 'cache']);
        expect(await bigPing(), '1450 bytes after the MTU is restored').toBe(true);
        expect(await smallPing()).toBe(true);

        // no failover for an MTU change
        expect((await state(l, active)).state).toBe('active');
        expect((await state(l, passive)).state).toBe('passive');
        await expectFlowing(probes, 'after the MTU is restored');
        const { sent, got } = await probes.stop();
        expect(got.lastSeq).toBeGreaterThan(sent.sent - 100);
        process.stderr.write(
          `link-events (${io}): ${active} wan0 MTU change: seen in ${tookMs} ms, longest probe gap ${got.maxGapMs} ms, ${got.lost} of ${sent.sent} lost\n`,
        );
      },
    );
  });

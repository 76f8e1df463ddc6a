// A storm of mutated frames through the real packet path (frame-rig.ts), shared by the bounded
// test (test/fuzz/frames.test.ts) and the long run (bench/fuzz.ts). Every frame must end in one
// outcome counter; an exception, a frame with no outcome or two, and a protected flow that lost
// its session or NAT are failures, each printed with its seed and the frame in hex.
import type { TandemConfig } from '../../../src/config/types.js';
import { ROLE_PASSIVE } from '../../../src/wire/shared-state.js';
import { CLIENT, CLIENT_MAC, FrameRig, LAN, LAN_V, SERVER, WAN } from './frame-rig.js';
import { ipv4Frame, mutateFrame, tcpSegment, udpDatagram } from './frames.js';
import { describeInput, Prng } from './prng.js';

export interface StormResult {
  frames: number;
  /** Frames per outcome counter. */
  outcomes: Record<string, number>;
  /** Exceptions out of the packet path (should be 0). */
  crashes: number;
  /** Frames that did not end in exactly one outcome (should be 0). */
  unaccounted: number;
  /** Protected-flow checks that failed (should be 0). */
  stateLost: number;
  /** The first failures, described for replay. */
  failures: string[];
  /** Longest time one frame took in the packet path (ms): a hang shows here. */
  maxFrameMs: number;
  elapsedMs: number;
}

export interface StormOptions {
  seed: number;
  frames: number;
  /** The box's config (default: deploy/lab/fwa.yaml as is). */
  config?: TandemConfig;
  /**
   * The dataplane's role through the storm (the flows are opened as active first): active,
   * handing-over (a planned failover: forwards from the real MACs), passive, or active with its
   * lease expired (a frozen control thread). Off the active path the flows must stay in the table.
   */
  role?: 'active' | 'handing-over' | 'passive' | 'lease-expired';
  /** Protected flows are re-checked (and kept alive) this often (frames). */
  checkEvery?: number;
  /** Simulated time per frame (ms). */
  msPerFrame?: number;
  maxFailures?: number;
}

export function runFrameStorm(opts: StormOptions): StormResult {
  const rig = new FrameRig(opts.config ? { config: opts.config } : {});
  const ctx = FrameRig.mutationContext();
  const rng = new Prng(opts.seed);
  const role = opts.role ?? 'active';
  if (role === 'handing-over') rig.shared.setHandingOver(true);
  if (role === 'passive') rig.shared.setRole(ROLE_PASSIVE);
  if (role === 'lease-expired') rig.shared.renewLease(0);
  const forwarding = role === 'active' || role === 'handing-over';
  const checkEvery = opts.checkEvery ?? 1000;
  const msPerFrame = opts.msPerFrame ?? 0.05;
  const maxFailures = opts.maxFailures ?? 10;
  const outcomes: Record<string, number> = {};
  const res: StormResult = { frames: 0, outcomes, crashes: 0, unaccounted: 0, stateLost: 0, failures: [], maxFrameMs: 0, elapsedMs: 0 };
  const fail = (what: string) => {
    if (res.failures.length < maxFailures) res.failures.push(what);
  };
  const start = performance.now();
  let pendingMs = 0;
  for (let i = 0; i < opts.frames; i++) {
    // mostly mutants; some plain new flows among them, so that tables and NAT ports fill up
    let frame = rng.chance(0.05) ? newFlow(rng) : mutateFrame(rng, ctx);
    // a frame of a protected flow's own tuple may legitimately change it (a RST closes it)
    while (rig.touchesFlow(frame)) frame = mutateFrame(rng, ctx);
    // mostly the side the frame is addressed to (else nearly all would be not-for-us), sometimes the other
    const toWan = frame.length >= 6 && (frame[5] === 0x02 || frame[4] === 0x02);
    const ingress = rng.chance(0.85) ? (toWan ? WAN : LAN) : rng.chance(0.5) ? LAN : WAN;
    const copy = Buffer.from(frame); // the pipeline rewrites in place; keep what went in
    const t0 = performance.now();
    try {
      const r = rig.feed(ingress, frame);
      outcomes[r.outcome] = (outcomes[r.outcome] ?? 0) + 1;
      if (r.error !== null) {
        res.unaccounted++;
        fail(`${describeInput(`frame on ${ingress === LAN ? 'lan' : 'wan'}: ${r.error}`, opts.seed, i, copy)}`);
      }
    } catch (err) {
      res.crashes++;
      fail(`${describeInput(`frame on ${ingress === LAN ? 'lan' : 'wan'} threw ${(err as Error)?.stack ?? String(err)}`, opts.seed, i, copy)}`);
    }
    const dt = performance.now() - t0;
    if (dt > res.maxFrameMs) res.maxFrameMs = dt;
    res.frames++;
    pendingMs += msPerFrame;
    if (pendingMs >= 1) {
      rig.advance(pendingMs);
      pendingMs = 0;
    }
    if ((i + 1) % checkEvery === 0 || i + 1 === opts.frames) {
      for (const p of rig.checkFlows(forwarding)) {
        res.stateLost++;
        fail(`protected flow after case ${i} (seed ${opts.seed}): ${p}`);
      }
    }
  }
  res.elapsedMs = performance.now() - start;
  return res;
}

/** A valid first packet of a new flow the lab's policy allows (UDP or TCP SYN to 5000-5999), from a random port. */
function newFlow(rng: Prng): Buffer {
  const l3 = { dstMac: LAN_V, srcMac: CLIENT_MAC, src: CLIENT, dst: SERVER };
  const sport = rng.range(1024, 39_999);
  const dport = rng.range(5000, 5999);
  return rng.chance(0.5) ? ipv4Frame(l3, 17, udpDatagram(sport, dport)) : ipv4Frame(l3, 6, tcpSegment(sport, dport, 0x02));
}

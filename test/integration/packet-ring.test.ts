// The packet-ring addon (native/packet-ring) on a real veth pair in a namespace of its own: ring
// wrap-around, TPACKET_V3 blocks holding one frame and thousands, an oversize frame, a closed
// handle used again, a device set down (an error event, not an abort), the addon loaded in two
// worker threads at once, and where a received frame's VLAN tag is. The cases run in fixtures/ring-cases.mjs inside the namespace.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const P = 'prt' + randomBytes(3).toString('hex').slice(0, 5);
const NS = `${P}n`;
const A = `${P}a`;
const B = `${P}b`;
const isRoot = process.getuid?.() === 0;

type Case = Record<string, unknown> & { case: string };
let cases = new Map<string, Case>();
let run: { status: number | null; stderr: string } = { status: null, stderr: '' };

describe.skipIf(!isRoot)('packet-ring addon', () => {
  beforeAll(() => {
    execFileSync('ip', ['netns', 'add', NS]);
    // no IPv6 on the pair: the kernel's own router and listener solicitations would land in the
    // rings beside the test's frames and change the batch counts the cases check
    for (const scope of ['all', 'default']) execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${scope}.disable_ipv6=1`]);
    execFileSync('ip', ['-n', NS, 'link', 'add', A, 'type', 'veth', 'peer', 'name', B]);
    for (const d of [A, B]) execFileSync('ip', ['-n', NS, 'link', 'set', d, 'up']);
    const r = spawnSync('ip', ['netns', 'exec', NS, process.execPath, path.join(root, 'test/integration/fixtures/ring-cases.mjs'), root, A, B], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    run = { status: r.status, stderr: r.stderr ?? '' };
    cases = new Map(
      (r.stdout ?? '')
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Case)
        .map((c) => [c.case, c]),
    );
  });
  afterAll(() => {
    spawnSync('ip', ['netns', 'del', NS]);
  });

  it('runs every case to the end and exits 0', () => {
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(cases.has('done')).toBe(true);
  });
  it('wraps around a 4-slot ring 250 times without losing or reordering a frame', () => {
    expect(cases.get('wrap-around')).toMatchObject({ received: 1000, inOrder: true, drops: 0 });
  });
  it('hands over a TPACKET_V3 block holding one frame (by its timer) and one holding thousands', () => {
    expect(cases.get('v3-one-frame')).toMatchObject({ received: 1, batches: [1] });
    const many = cases.get('v3-thousands')!;
    expect(many).toMatchObject({ received: 3000, inOrder: true });
    expect(many.largestBatch as number).toBeGreaterThanOrEqual(1000);
  });
  it('delivers a frame larger than its slot cut, with its length on the wire', () => {
    expect(cases.get('oversize')).toMatchObject({ refused: 0, received: 2, caplen: 1982, wirelen: 4000 });
  });
  it('answers a closed handle with an error, keeps its memory readable, refuses bad devices and options', () => {
    expect(cases.get('closed-handle')).toMatchObject({
      closed: true,
      flush: 'packet ring: flush on a closed ring',
      stats: 'number',
      ringStillReadable: true,
      missing: 'ENODEV',
      badOption: 'RangeError',
    });
  });
  it('reports a device set down as an ENETDOWN event and stays up', () => {
    expect(cases.get('device-down')).toMatchObject({ errors: ['ENETDOWN'], alive: true });
  });
  it('hands over a VLAN tag the kernel took out of the frame in the descriptor (V2, V3, rx VLAN offload off)', () => {
    const c = cases.get('vlan')!;
    expect(c.descFields).toBe(4);
    // the frame comes without its outer tag: our ethertype at 12 for one tag, the inner tag's TPID for two
    const expected = [
      { seq: 0, vlan: 0x10000 | 0x2014, typeAt12: 0x88b5, len: 60 },
      { seq: 1, vlan: 0x10000 | 0x20000 | 30, typeAt12: 0x8100, len: 64 },
      { seq: 2, vlan: 0x10000 | 50, typeAt12: 0x8100, len: 64 },
    ];
    expect(c.v2).toEqual(expected);
    expect(c.v3).toEqual(expected);
    // the kernel's receive path untags in software when the device does not: the same
    if (Array.isArray(c.rxvlanOff)) expect(c.rxvlanOff).toEqual(expected);
  });
  it('loads and receives in two worker threads at once', () => {
    expect(cases.get('two-workers')).toMatchObject({ received: [100, 100] });
  });
});

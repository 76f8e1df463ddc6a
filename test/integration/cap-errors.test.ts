// cap (libpcap) on an interface that goes away: cap 0.2.1 asserted `status == 0` in its libuv poll
// callback and so aborted the whole process when a captured interface went down (libuv reports
// POLLERR as UV_EBADF). patches/cap+0.2.1.patch (applied at npm install) makes it stop polling
// and emit 'error' instead, with `err.code` ('EBADF' for a poll error, 'EPCAP' for a
// pcap_dispatch error); an errored Cap can still be close()d once.
//
// A child node process in a namespace of its own with one veth pair, <P>a <-> <P>b, captures on
// both ends and then: sets <P>a down (its Cap errors), tries to open a new Cap on the down <P>a
// (open throws; close() of that Cap must not abort either), sets <P>a up, deletes the pair (the
// Cap on <P>b errors). The child prints one JSON report and must end by itself with code 0: a
// stopped poll handle keeps nothing alive, an abort would end it with SIGABRT.
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
/** `cpe` + 4 random letters/digits: a per-run prefix, so parallel or crashed runs never collide. */
const P = 'cpe' + [...randomBytes(4)].map((b) => 'abcdefghijklmnopqrstuvwxyz0123456789'[b % 36]).join('');
const NS = P;
const A = `${P}a`;
const B = `${P}b`;
const capPath = createRequire(import.meta.url).resolve('cap');

const CHILD_JS = `
const { Cap } = require(process.env.CAP_PATH);
const { execFileSync } = require('node:child_process');
const A = process.env.DEV_A, B = process.env.DEV_B;
const report = { errors: [] };
let phase = 'open';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ip = (...args) => execFileSync('ip', args, { stdio: 'ignore' });
async function until(pred, ms) {
  const end = Date.now() + ms;
  while (!pred() && Date.now() < end) await sleep(20);
}
function capture(dev) {
  const cap = new Cap();
  cap.open(dev, '', 1024 * 1024, Buffer.alloc(65535));
  cap.on('packet', () => {});
  cap.on('error', (err) => {
    const e = { dev, phase, code: err.code, message: err.message, isError: err instanceof Error };
    e.closed = cap.close();
    e.closedAgain = cap.close();
    try { cap.send(Buffer.alloc(60)); e.sendAfterClose = 'sent'; } catch (x) { e.sendAfterClose = x.message; }
    report.errors.push(e);
  });
}
(async () => {
  capture(A);
  capture(B);
  await sleep(100);
  phase = 'down';
  ip('link', 'set', A, 'down');
  await until(() => report.errors.some((e) => e.dev === A), 5000);
  const c = new Cap();
  try { c.open(A, '', 1024 * 1024, Buffer.alloc(100)); report.openWhileDown = 'opened'; }
  catch (err) { report.openWhileDown = err.message; }
  report.closeAfterFailedOpen = c.close();
  phase = 'up';
  ip('link', 'set', A, 'up');
  await sleep(300);
  phase = 'deleted';
  ip('link', 'del', A);
  await until(() => report.errors.some((e) => e.dev === B), 5000);
  console.log(JSON.stringify(report));
})();
`;

interface CapErrorSeen {
  dev: string;
  phase: string;
  code: unknown;
  message: unknown;
  isError: boolean;
  closed: boolean;
  closedAgain: boolean;
  sendAfterClose: string;
}

interface ChildReport {
  errors: CapErrorSeen[];
  openWhileDown: string;
  closeAfterFailedOpen: boolean;
}

function sh(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr || r.error}`);
}

/** Processes this file started and that may still run: killed by PID in afterAll. */
const started = new Set<number>();

function teardown(): void {
  for (const pid of started) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  started.clear();
  spawnSync('ip', ['netns', 'del', NS], { stdio: 'ignore' });
}

describe.skipIf(!isRoot)('cap on an interface that goes down or away', () => {
  afterAll(teardown);

  it("emits 'error' with a code instead of aborting, and the Cap still closes", async () => {
    try {
      sh(['netns', 'add', NS]);
      sh(['-n', NS, 'link', 'add', A, 'type', 'veth', 'peer', 'name', B]);
      sh(['-n', NS, 'link', 'set', A, 'up']);
      sh(['-n', NS, 'link', 'set', B, 'up']);

      const child = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', CHILD_JS], {
        env: { ...process.env, CAP_PATH: capPath, DEV_A: A, DEV_B: B },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      if (child.pid) started.add(child.pid);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
        const timer = setTimeout(() => {
          // `ip netns exec` execs node, so this PID is the child node process itself
          if (child.pid && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
        }, 30_000);
        child.once('exit', (code, signal) => {
          clearTimeout(timer);
          if (child.pid) started.delete(child.pid);
          resolve({ code, signal });
        });
      });

      const detail = `exit=${JSON.stringify(exit)} stdout=${stdout.slice(-2000)} stderr=${stderr.slice(-2000)}`;
      expect(exit, detail).toEqual({ code: 0, signal: null });
      const report = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ChildReport;

      // the Cap on the interface taken down: one error (polling stopped), while it was down
      const onA = report.errors.filter((e) => e.dev === A);
      expect(onA, detail).toHaveLength(1);
      expect(onA[0]).toMatchObject({ phase: 'down', isError: true, closed: true, closedAgain: false, sendAfterClose: 'Not currently capturing/open' });
      expect(onA[0].code).toMatch(/^E[A-Z]+$/);
      expect(onA[0].message).toEqual(expect.any(String));

      // opening a down interface throws, and closing that Cap does not abort
      expect(report.openWhileDown).not.toBe('opened');
      expect(report.closeAfterFailedOpen).toBe(false);

      // the peer end only errors when the pair is deleted
      const onB = report.errors.filter((e) => e.dev === B);
      expect(onB, detail).toHaveLength(1);
      expect(onB[0]).toMatchObject({ phase: 'deleted', isError: true, closed: true, closedAgain: false });
      expect(onB[0].code).toMatch(/^E[A-Z]+$/);
    } finally {
      teardown();
    }
  });
});

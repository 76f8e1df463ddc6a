// A stand-in for prober-main.js (no raw socket): answers every send from the target itself,
// except targets listed in the file $FAKE_PROBER_CONTROL (one per line); the word "crash" there
// makes it exit, and "foreign" makes it also answer from another address (a source mismatch).
import { readFileSync } from 'node:fs';
const control = process.env.FAKE_PROBER_CONTROL;
const read = () => {
  try {
    return readFileSync(control, 'utf8')
      .split('\n')
      .map((s) => s.trim());
  } catch {
    return [];
  }
};
const out = (m) => process.stdout.write(`${JSON.stringify(m)}\n`);
let buf = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => {
  buf += chunk;
  let nl;
  while ((nl = buf.indexOf('\n')) >= 0) {
    const line = buf.slice(0, nl);
    buf = buf.slice(nl + 1);
    const cmd = JSON.parse(line);
    const ctl = read();
    if (ctl.includes('crash')) process.exit(3);
    if (ctl.includes('foreign')) out({ t: 'reply', src: '192.0.2.1', seq: cmd.seq });
    if (!ctl.includes(cmd.dst)) setTimeout(() => out({ t: 'reply', src: cmd.dst, seq: cmd.seq }), 1);
  }
});
process.stdin.on('end', () => process.exit(0));
out({ t: 'ready' });
out({ t: 'drops', counts: { 'foreign-identifier': 2 } });

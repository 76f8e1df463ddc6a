// The frame I/O variants a bench can put side by side: each is a `device.dataplane` for both
// boxes of the lab (docs/packet-io.md). `ring` is the default configuration.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseDocument } from 'yaml';
import { repoRoot } from '../../src/lab/lab.js';
import { LAB_BOXES } from '../../src/lab/topology.js';

export const IO_VARIANTS = {
  /** the default: TPACKET_V2 ring, every batch sent by the dataplane's own thread (sendmmsg inline) */
  ring: { io: 'ring' },
  /**
   * the ring, bulk batches sent from the addon's sender thread, small ones (<= 16 frames, the
   * thread idle) and re-judged ones from the dataplane's thread
   */
  'ring-thread': { io: 'ring', ring: { txThread: true } },
  /** the ring with TPACKET_V3 blocks (1 ms retire timer) */
  'ring-v3': { io: 'ring', ring: { version: 3 } },
  /** libpcap through the patched cap binding */
  pcap: { io: 'pcap' },
} as const;

export type IoVariant = keyof typeof IO_VARIANTS;

export function parseIoVariants(text: string): IoVariant[] {
  const out = text.split(',').filter((s) => s !== '');
  for (const v of out) if (!(v in IO_VARIANTS)) throw new Error(`--io: unknown ${JSON.stringify(v)}, expected some of ${Object.keys(IO_VARIANTS).join(',')}`);
  if (out.length === 0) throw new Error(`--io: expected at least one of ${Object.keys(IO_VARIANTS).join(',')}`);
  return out as IoVariant[];
}

/**
 * Copies deploy/lab's fwa.yaml and fwb.yaml into `dir` with `device.dataplane` set to the variant
 * (parseDocument keeps the files' comments and layout).
 */
export function writeLabConfigs(dir: string, variant: IoVariant): void {
  for (const box of LAB_BOXES) {
    const doc = parseDocument(readFileSync(join(repoRoot(), 'deploy', 'lab', `${box}.yaml`), 'utf8'));
    doc.setIn(['device', 'dataplane'], doc.createNode(IO_VARIANTS[variant], { flow: true }));
    writeFileSync(join(dir, `${box}.yaml`), String(doc), { mode: 0o600 });
  }
}

// The receiving end of a forwarding bench: an nft counter on the server's ingress hook that counts
// and drops the bench's UDP stream before the IP stack sees it. The count is what really arrived
// (the generator's own figure is only what it offered), and dropping at ingress keeps the server
// from answering each datagram with an ICMP port unreachable that would flow back through the box.
import { nftLoad } from './kernel-fw.js';
import { nftCounter } from './counters.js';

export const SINK_TABLE = 'bench_sink';
export const SINK_COMMENT = 'bench-sink';

export function sinkRuleset(dev: string, dportFrom: number, dportTo: number): string {
  return `table netdev ${SINK_TABLE} {
  chain ingress {
    type filter hook ingress device "${dev}" priority 0; policy accept;
    udp dport ${dportFrom}-${dportTo} counter drop comment "${SINK_COMMENT}"
  }
}
`;
}

export function sinkUp(ns: string, dev: string, dportFrom: number, dportTo: number): Promise<void> {
  return nftLoad(ns, sinkRuleset(dev, dportFrom, dportTo));
}

export function sinkCount(ns: string): Promise<number> {
  return nftCounter(ns, SINK_COMMENT);
}

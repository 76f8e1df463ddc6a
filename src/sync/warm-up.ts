// The HA2 codec compiled before it matters. The first decode of a thousand-record batch runs in V8's
// interpreter and took ~40 ms in the lab (--cpu-prof): on the control thread, a stall past the
// aggressive profile's dead interval the first time a peer sends its table. Running the codec a few
// times at start, before the heartbeats begin, gets it compiled.
import { decodeHa2, encodeHa2 } from '../wire/ha2-codec.js';
import { emptyRecord, REC_UPSERT, type SessionRecord } from '../wire/session-record.js';

export function warmUpCodec(): void {
  const records: SessionRecord[] = Array.from({ length: 1000 }, (_, i) => ({
    ...emptyRecord(),
    op: REC_UPSERT,
    proto: 6,
    origSrc: 0x0a000001 + i,
    origSrcPort: 1024 + i,
    origDst: 0x0a000101,
    origDstPort: 443,
    replySrc: 0x0a000101,
    replySrcPort: 443,
    replyDst: 0x0a000201,
    replyDstPort: 30000 + i,
    timeoutMs: 3_600_000,
    eventMs: i,
  }));
  for (let i = 1; i <= 5; i++) {
    decodeHa2(encodeHa2({ sender: 0, epoch: 1, seq: i, groupId: 1, body: { kind: 'batch', batch: { seq: i, records, sentMs: i } } }));
  }
}

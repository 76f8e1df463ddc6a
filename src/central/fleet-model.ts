// The fleet as central knows it: one record per member of the inventory, restored from the store
// at start, changed by polls (member-record.ts), shown as pairs (pair-view.ts). Pure: the poller
// feeds it, the store keeps what it returns, the API and the metrics read its view.
import type { Inventory, PairEntry } from './inventory.js';
import { applyPoll, emptyRecord, type MemberRecord, type PollResult } from './member-record.js';
import { pairView } from './pair-view.js';
import type { CentralEvent, FleetResponse } from './protocol.js';
import { memberKey } from './secrets.js';

export class FleetModel {
  private readonly pairs: readonly PairEntry[];
  private readonly records = new Map<string, MemberRecord>();
  /** Members polled since this central started (a restored record alone is not "polled"). */
  private readonly polled = new Set<string>();
  private readonly retentionMs: number;

  /** `restored`: the store's records; those of members no longer in the inventory are ignored. */
  constructor(inv: Pick<Inventory, 'pairs' | 'retention'>, restored: readonly MemberRecord[] = []) {
    this.pairs = inv.pairs;
    this.retentionMs = inv.retention.days * 86_400_000;
    const byKey = new Map(restored.map((r) => [memberKey(r.pair, r.member), r]));
    for (const p of this.pairs) {
      for (const m of p.members) {
        const key = memberKey(p.name, m.name);
        this.records.set(key, byKey.get(key) ?? emptyRecord(p.name, m.name));
      }
    }
  }

  /** One poll of one member: the events to store and the record to keep. Unknown members: nothing. */
  apply(pair: string, member: string, poll: PollResult): { record: MemberRecord; events: CentralEvent[] } | null {
    const key = memberKey(pair, member);
    const prev = this.records.get(key);
    if (!prev) return null;
    const applied = applyPoll(prev, poll, poll.atMs - this.retentionMs);
    this.records.set(key, applied.record);
    this.polled.add(key);
    return applied;
  }

  /** Puts a record back (the store could not keep what apply() returned: the next poll tries again). */
  restore(record: MemberRecord): void {
    const key = memberKey(record.pair, record.member);
    if (this.records.has(key)) this.records.set(key, record);
  }

  record(pair: string, member: string): MemberRecord | undefined {
    return this.records.get(memberKey(pair, member));
  }

  view(nowMs: number): FleetResponse {
    return {
      at: new Date(nowMs).toISOString(),
      pairs: this.pairs.map((p) => {
        const keys = p.members.map((m) => memberKey(p.name, m.name));
        const recs = keys.map((k) => this.records.get(k)!) as [MemberRecord, MemberRecord];
        return pairView(p, recs, [this.polled.has(keys[0]), this.polled.has(keys[1])], nowMs);
      }),
    };
  }
}

// The random walks' reference of the completion rule (table.test.ts, both.test.ts): a dump is whole
// when its BULK_BEGIN went in (not as the sender) and nothing since asked again, lost records or
// cut the connection. Deliberately simple, apart from the machine it checks.
import type { BulkEvent, BulkState } from '../../../../src/sync/bulk.js';

/** Whether a dump begun since the last request or loss is coming in whole, after `ev`. */
export function referenceWhole(s: BulkState, ev: BulkEvent, whole: boolean): boolean {
  switch (ev.type) {
    case 'begin-pushed':
      return s.role !== 'sender';
    case 'end-pushed':
    case 'gap':
    case 'overflow':
      return false;
    case 'disconnected':
      return whole && !s.connected;
    case 'connected':
      return whole && s.role !== 'receiver';
    case 'role':
      // made receiver, a dump running on this connection goes on: it is not asked again
      if (ev.to === s.role) return whole;
      if (ev.to === 'sender') return false;
      return whole;
    default:
      return whole;
  }
}

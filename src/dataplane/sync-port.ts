// The dataplane's end of HA2 session replication. It runs on the dataplane's thread and talks to
// the control worker only through two shared-memory rings (src/wire/record-ring.ts), so a busy packet
// path never waits on a socket and a busy socket never stalls the packet path.
//
//   out: every session change on this box (create, state change, expiry) as a record, and a
//        paced dump of the whole table (BULK_BEGIN .. BULK_END) when asked; a change that finds
//        `out` full is lost, and REC_LOST says so in its place as soon as there is room (the
//        worker then has the peer resynced with a dump begun after it);
//   in:  the peer's changes to apply (this box is passive), and in-band requests from our own
//        worker (dump the table, forget synced sessions).
//
// A synced session on the passive carries the loose flag, its TCP window state marked synced
// (tcp-window.ts: checked with slack until each side is seen here), and an expiry of its own: the
// record's remaining lifetime on the active, plus half its protocol timeout (the active sends the
// session again at least that often while it is used: session-table.ts refreshMs), plus
// SYNC_EXPIRY_MARGIN_MS. So a session the active dropped without a delete reaching us (HA2 down,
// a lost record) goes away on its own, and one the active still uses never does. When this box
// becomes active every session gets its protocol timeout from now.
//
// Active/active (built with a SyncPortPair): both boxes forward, and each session has an owner
// (SESSION_FLAG_OWNER1 in its flags), the box that processes its packets. `out` carries every
// change this box makes (sessions it creates, for itself or set up for the peer; changes as owner;
// deletes), `in` the peer's; what is applied from `in` is never reported back (no echo). Then:
//   - a clear (our REC_CLEAR, the peer's BULK_BEGIN) forgets the peer's sessions only, never ours;
//   - the owner's view wins: a record about a session we hold as ours never changes it when the
//     record says it is ours too (the peer's copy of it is at best as new as ours), nor while we
//     forward (both changed it: the peer adopted it while it took us for down, and we went on
//     processing it; each box keeps the session it processes, counted sync-own-kept). While we do
//     not forward, the peer's record wins: it adopted the session, and is the one processing it;
//   - a record of ours that we lack is installed (set up for us by the peer, or held for us while
//     we were away);
//   - a session waits for its owner's delete while its owner forwards, and runs on its protocol
//     timeout otherwise (ours once we forward; the peer's from when it stops forwarding);
//   - a session we keep while the peer's record claims it (the peer adopted it while it took us for
//     down) takes the record's TCP window where it is ahead, and is checked with the synced slack
//     until each side is seen again (tcp-window.ts): the peer forwarded its segments meanwhile;
//     and as both boxes may now forward parts of it, it is marked SESSION_FLAG_SPLIT (its window
//     checked loosely from then on).
// Sessions learned from the peer carry the loose flag, as in active/passive.
import type { RecordRing } from '../wire/record-ring.js';
import {
  clearsTable,
  emptyRecord,
  REC_BULK_BEGIN,
  REC_BULK_END,
  REC_CLEAR,
  REC_DELETE,
  REC_DUMP_REQUEST,
  REC_LOST,
  REC_UPDATE,
  REC_UPSERT,
  SESSION_FLAG_OWNER1,
  SESSION_FLAG_SPLIT,
  type SessionRecord,
} from '../wire/session-record.js';
import type { EventCounter, DropReason } from '../wire/dataplane-counters.js';
import type { Firewall, SessionListener } from './firewall.js';
import { IPPROTO_TCP } from './packet.js';
import { DIR_ORIGINAL, DIR_REPLY, refreshMs, SESSION_FLAG_LOOSE } from './session-table.js';

/** Records applied from the peer per tick: bounds the work between frames (tick = 2 ms). */
const APPLY_BUDGET = 20_000;
/** Sessions dumped per tick. */
const DUMP_BUDGET = 20_000;
/**
 * The share of `out` a dump leaves free for live changes (1/4): a dump outruns the worker's drain,
 * and one that filled the ring would lose the changes made meanwhile (and each loss asks for a dump).
 */
const DUMP_HEADROOM_SHIFT = 2;
/** Active/active: a session of a forwarding owner waits for its delete; this only keeps the timing wheel finite. */
export const SYNCED_EXPIRY_MS = 10 * 24 * 3600 * 1000;
/**
 * Active/passive: what a synced session's expiry allows beyond the active's refresh rule: the
 * record's trip over HA2 (milliseconds; seconds with a backlog) and the two boxes' ticks.
 */
export const SYNC_EXPIRY_MARGIN_MS = 10_000;

export interface SyncPortHooks {
  event(name: EventCounter): void;
  drop(reason: DropReason): void;
}

/** Active/active: this box and what it reads of the pair (the engine gives src/wire/shared-state.ts). */
export interface SyncPortPair {
  /** This box's device id (config device.id): a session is ours when its owner bit says so. */
  readonly me: 0 | 1;
  /** This box forwards (its dataplane role is active): it processes the sessions it owns. */
  active(): boolean;
  /** The peer forwards (SharedState.peerForwarding): its sessions wait for its deletes here. */
  peerForwarding(): boolean;
}

/** Whether `flags` (a session's or a record's) name `me` as the owner. */
export function ownedBy(flags: number, me: 0 | 1): boolean {
  return ((flags & SESSION_FLAG_OWNER1) !== 0 ? 1 : 0) === me;
}

export class SyncPort implements SessionListener {
  private readonly out: RecordRing;
  private readonly in: RecordRing;
  private readonly fw: Firewall;
  private readonly hooks: SyncPortHooks;
  private readonly rec: SessionRecord = emptyRecord();
  private readonly applyFn: (r: SessionRecord) => void;
  /** A dump in progress: the slots to send, and how far we are. */
  private dump: Int32Array | null = null;
  private dumpAt = 0;
  private dumpSent = 0;
  /** A dump was asked while `out` had no room for its BULK_BEGIN: it starts at a later tick. */
  private dumpWanted = false;
  private nowMs = 0;
  /**
   * Records that were waiting in `in` when this box became active, not applied yet: a clear among
   * them was queued for the passive we were, and would empty the active's table (skipped).
   */
  private queuedBeforeTakeOver = 0;
  /** Changes lost to a full `out` since the last REC_LOST went in (see pushOut). */
  private lost = 0;
  /** The REC_LOST record: its own object, since `rec` may hold the change waiting behind it. */
  private readonly lostRec: SessionRecord = emptyRecord();
  /** Active/active: who we are in the pair; null in active/passive. */
  private readonly pair: SyncPortPair | null;
  /** Active/active: whether the peer forwarded when we last looked (its sessions' timers follow it). */
  private peerUp = true;

  constructor(out: RecordRing, inRing: RecordRing, fw: Firewall, hooks: SyncPortHooks, pair: SyncPortPair | null = null) {
    this.out = out;
    this.in = inRing;
    this.fw = fw;
    this.hooks = hooks;
    this.pair = pair;
    if (pair !== null) this.peerUp = pair.peerForwarding();
    this.applyFn = (r) => this.apply(r);
    fw.listener = this;
  }

  // ---- our changes (SessionListener) ----

  created(slot: number, nowMs: number): void {
    this.send(REC_UPSERT, slot, nowMs);
  }

  changed(slot: number, nowMs: number): void {
    this.send(REC_UPDATE, slot, nowMs);
  }

  removed(slot: number, nowMs: number): void {
    this.send(REC_DELETE, slot, nowMs);
  }

  /** A live change: lost (and counted) when `out` has no room for it. */
  private send(op: number, slot: number, nowMs: number): void {
    if (this.pushOut(this.load(op, slot, nowMs))) return;
    this.lost++;
    this.hooks.drop('sync-overflow');
  }

  /** Fills the scratch record from a session (the table's one record layout, as HA3's INSERT uses). */
  private load(op: number, slot: number, nowMs: number): SessionRecord {
    return this.fw.table.toRecord(slot, op, nowMs, this.rec);
  }

  /** A dump's BULK_BEGIN or BULK_END: false when `out` has no room (the dump waits, nothing is lost). */
  private control(op: number, count: number, nowMs: number): boolean {
    const r = this.rec;
    r.op = op;
    r.proto = 0;
    r.origSrc = count >>> 0;
    r.eventMs = nowMs;
    return this.pushOut(r);
  }

  /**
   * Every record goes into `out` through here. After a loss, REC_LOST goes in first, so the worker
   * learns where changes went missing in order with the rest (a dump already begun before it does
   * not cover them). False when `out` has no room for the marker or the record.
   */
  private pushOut(r: SessionRecord): boolean {
    if (this.lost > 0 && !this.reportLoss()) return false;
    return this.out.push(r);
  }

  private reportLoss(): boolean {
    const m = this.lostRec;
    m.op = REC_LOST;
    m.origSrc = Math.min(this.lost, 0xffffffff);
    m.eventMs = this.nowMs;
    if (!this.out.push(m)) return false;
    this.lost = 0;
    return true;
  }

  // ---- timer work ----

  /** Applies what arrived, and goes on with a dump. Called on the dataplane's tick. */
  tick(nowMs: number): void {
    this.nowMs = nowMs;
    if (this.pair !== null) this.watchPeer(this.pair, nowMs);
    // a loss with no change after it is said all the same
    if (this.lost > 0) this.reportLoss();
    this.in.drain(APPLY_BUDGET, this.applyFn);
    if (this.dumpWanted) this.startDump();
    if (this.dump !== null) this.continueDump(nowMs);
  }

  /**
   * This box just became active: synced sessions start their own timeouts now (active/active: ours,
   * and the peer's only while it does not forward), and what already waits in `in` may no longer
   * clear the table. (Our worker, now the sender, queues no clear after this: src/sync/inbound.ts
   * skips them too.)
   */
  takeOver(nowMs: number): void {
    this.queuedBeforeTakeOver = this.in.size;
    const t = this.fw.table;
    const pair = this.pair;
    if (pair !== null) this.peerUp = pair.peerForwarding();
    t.forEach((slot) => {
      t.setExpires(slot, pair === null ? this.timeoutAt(slot, nowMs) : this.expiryOf(t.flags(slot), slot, nowMs, pair));
    });
    // what the table holds lags what the previous forwarder saw
    this.fw.windowsMayLag();
  }

  /** Active/active: the peer started or stopped forwarding; its sessions' timers follow. */
  private watchPeer(pair: SyncPortPair, nowMs: number): void {
    const up = pair.peerForwarding();
    if (up === this.peerUp) return;
    this.peerUp = up;
    const t = this.fw.table;
    t.forEach((slot) => {
      const flags = t.flags(slot);
      if (!ownedBy(flags, pair.me)) t.setExpires(slot, this.expiryOf(flags, slot, nowMs, pair));
    });
  }

  /** When a session of `slot`'s protocol and state, last seen now, times out. */
  private timeoutAt(slot: number, nowMs: number): number {
    const t = this.fw.table;
    return nowMs + this.fw.timeoutS(t.proto(slot), t.state(slot)) * 1000;
  }

  /**
   * Active/active: a session runs on its protocol timeout when its owner does not forward (the
   * peer's: it stopped) or is us forwarding it; otherwise it waits for its owner's delete.
   */
  private timed(flags: number, pair: SyncPortPair): boolean {
    return ownedBy(flags, pair.me) ? pair.active() : !this.peerUp;
  }

  private expiryOf(flags: number, slot: number, nowMs: number, pair: SyncPortPair): number {
    return this.timed(flags, pair) ? this.timeoutAt(slot, nowMs) : nowMs + SYNCED_EXPIRY_MS;
  }

  private apply(r: SessionRecord): void {
    if (this.queuedBeforeTakeOver > 0) {
      this.queuedBeforeTakeOver--;
      if (clearsTable(r.op)) return this.hooks.event('sync-clear-skipped');
    }
    switch (r.op) {
      case REC_UPSERT:
      case REC_UPDATE:
        return this.upsert(r);
      case REC_DELETE:
        return this.remove(r);
      case REC_BULK_BEGIN:
      case REC_CLEAR:
        this.clear();
        return;
      case REC_BULK_END:
        return;
      case REC_DUMP_REQUEST:
        this.startDump();
        return;
      default:
        this.hooks.drop('sync-bad-record');
    }
  }

  /**
   * Active/active: the session in `slot` is ours and stays as it is, whatever the peer's record
   * says of it: the record calls it ours too, or we forward (see the file comment).
   */
  private keepsOwn(slot: number, r: SessionRecord, pair: SyncPortPair): boolean {
    const me = pair.me;
    return ownedBy(this.fw.table.flags(slot), me) && (ownedBy(r.flags, me) || pair.active());
  }

  private remove(r: SessionRecord): void {
    const h = this.fw.table.lookupOriginal(r);
    if (h < 0 || (h & 1) !== DIR_ORIGINAL) return;
    if (this.pair !== null && this.keepsOwn(h >> 1, r, this.pair)) return this.hooks.event('sync-own-kept');
    this.fw.removeSession(h >> 1);
    this.hooks.event('sync-applied');
  }

  /** A peer's session, created or updated here; also how active/active's HA3 INSERT installs one (ha3-port.ts). */
  upsert(r: SessionRecord): void {
    const t = this.fw.table;
    const pair = this.pair;
    const h = t.lookupOriginal(r);
    if (pair === null) return this.install(r, h, this.syncedExpiry(r), false);
    if (h >= 0 && this.keepsOwn(h >> 1, r, pair)) {
      // the peer processed it meanwhile (it claims it): our TCP window moves on to what it saw
      if (!ownedBy(r.flags, pair.me)) {
        const slot = h >> 1;
        if (r.proto === IPPROTO_TCP) this.fw.table.mergeWindows(slot, r);
        // both of us forward its segments now: each sees part of them
        this.fw.table.setFlags(slot, this.fw.table.flags(slot) | SESSION_FLAG_SPLIT);
      }
      return this.hooks.event('sync-own-kept');
    }
    const timeoutMs = this.timed(r.flags, pair) ? this.fw.timeoutS(r.proto, r.state) * 1000 : SYNCED_EXPIRY_MS;
    this.install(r, h, this.nowMs + timeoutMs, true);
  }

  /** Active/passive: when the passive's copy of the record's session expires (the file comment says why). */
  private syncedExpiry(r: SessionRecord): number {
    return this.nowMs + r.timeoutMs + refreshMs(this.fw.timeoutS(r.proto, r.state) * 1000) + SYNC_EXPIRY_MARGIN_MS;
  }

  /**
   * Puts the record into the table (`h`: its lookup). `withFlags`: a state change takes the
   * record's flags too (active/active: the owner may have changed).
   */
  private install(r: SessionRecord, h: number, expires: number, withFlags: boolean): void {
    const t = this.fw.table;
    if (h >= 0) {
      const slot = h >> 1;
      // Same flow, same translation: a state change. TCP state only moves forward in time on the
      // active, and records arrive in order, so the latest one wins.
      if (
        (h & 1) === DIR_ORIGINAL &&
        t.dst(slot, DIR_REPLY) === r.replyDst &&
        t.dstPort(slot, DIR_REPLY) === r.replyDstPort &&
        t.src(slot, DIR_REPLY) === r.replySrc
      ) {
        t.setState(slot, r.state);
        t.setExpires(slot, expires);
        t.setWindows(slot, r, true);
        if (withFlags) this.fw.setSessionFlags(slot, r.flags | SESSION_FLAG_LOOSE);
        this.hooks.event('sync-applied');
        return;
      }
      this.fw.removeSession(slot);
    }
    // the record's fields as they are (create() reads only a NewSession's), loose, on our clock
    const slot = t.create({ ...r, flags: r.flags | SESSION_FLAG_LOOSE, expiresMs: expires, nowMs: this.nowMs });
    if (slot < 0) {
      this.hooks.drop(t.size >= t.capacity ? 'session-table-full' : 'session-conflict');
      return;
    }
    t.setWindows(slot, r, true);
    this.fw.adoptSession(slot);
    this.hooks.event('sync-applied');
  }

  /**
   * Forgets every session (the table of a passive box holds only synced ones); in active/active,
   * every session of the peer's, never ours.
   */
  private clear(): void {
    const t = this.fw.table;
    const pair = this.pair;
    const slots: number[] = [];
    t.forEach((slot) => {
      if (pair === null || !ownedBy(t.flags(slot), pair.me)) slots.push(slot);
    });
    for (const slot of slots) this.fw.removeSession(slot);
  }

  /**
   * A snapshot of the live slots, announced by BULK_BEGIN (a dump running is abandoned: the new one
   * covers it). With no room in `out` for the BULK_BEGIN (a dump already fills it), the request
   * waits for room instead of being dropped: the worker counts on that BULK_BEGIN, and until it
   * comes out, every later dump request rides on this one.
   */
  private startDump(): void {
    this.dump = null;
    // only this thread pushes to `out`: room seen here is still there for the push below
    this.dumpWanted = this.out.size >= this.out.capacity;
    if (this.dumpWanted) return;
    const t = this.fw.table;
    const slots = new Int32Array(t.size);
    let n = 0;
    t.forEach((slot) => {
      if (n < slots.length) slots[n++] = slot;
    });
    this.dump = slots.subarray(0, n);
    this.dumpAt = 0;
    this.dumpSent = 0;
    if (this.control(REC_BULK_BEGIN, n, this.nowMs)) return;
    this.dump = null;
    this.dumpWanted = true;
  }

  private continueDump(nowMs: number): void {
    const dump = this.dump!;
    const t = this.fw.table;
    const end = Math.min(dump.length, this.dumpAt + DUMP_BUDGET);
    // only this thread pushes to `out`: the room seen here only grows while we fill it
    let room = this.out.capacity - (this.out.capacity >> DUMP_HEADROOM_SHIFT) - this.out.size;
    while (this.dumpAt < end) {
      const slot = dump[this.dumpAt];
      // gone since the snapshot: its delete already went out
      if (t.isLive(slot)) {
        if (room <= 0 || !this.pushOut(this.load(REC_UPSERT, slot, nowMs))) return; // go on at the next tick
        room--;
        this.dumpSent++;
      }
      this.dumpAt++;
    }
    if (this.dumpAt >= dump.length && this.control(REC_BULK_END, this.dumpSent, nowMs)) this.dump = null;
  }
}

// The control agent (main thread) and the dataplane (its own worker, the only thread that loads
// `cap`) share one SharedArrayBuffer. Messages through a MessagePort are not enough: the `cap`
// binding drains the whole capture buffer before yielding, so under load a posted message can wait
// seconds. The dataplane reads these words on every frame and on a short idle tick instead.
//
// Layout (all little-endian, host order):
//   Int32  [0]  role           0 = passive (forward nothing, answer nothing for floating IPs), 1 = active
//   Int32  [1]  garpSeq        bumped by control to request a gratuitous-ARP burst for every floating IP
//   Int32  [2]  roleEpoch      bumped on every change of role (lets the dataplane log and reset per-role state)
//   Int32  [3]  handingOver    1 while a planned hand-over lets the old active forward a little longer:
//                              it then sources frames from its real MACs, so that only the new
//                              active teaches the switches where the virtual MACs are
//   Float64[2]  leaseUntilMs   monotonic ms (see monotonicMs) until which `active` may be acted on
//   Float64[3]  peerAnnouncedAtMs  during a hand-over: when the dataplane had seen the new active's
//                              gratuitous ARP on every interface with floating IPs (0 = not yet);
//                              from then on no switch sends the old active anything new
//   Int32  [8]  peerAnnouncedMask  during a hand-over: interfaces (bit = index) where it was seen
//   Int32  [9]  captureClosedMask  interfaces (bit = index in sorted logical names, the engine's
//                              order) whose capture handle is closed (device down or gone, not yet
//                              reopened): the link monitor holds such a link down until it reopens
//   Int32  [10] servedClasses  active/active: the floating-address classes this box answers for
//                              (bit CLASS_DEVICE0, CLASS_DEVICE1, CLASS_PRIMARY; docs/active-active.md);
//                              acted on only while mayActAsActive (role active and the lease)
//   Int32  [11] peerForwarding active/active: 1 while the peer's dataplane forwards (it is active-*),
//                              so its sessions go to it over HA3; 0: this box adopts them
//   Int32  [12] primaryId      active/active: the device id of the active-primary
//   Int32  [13] acceptedClasses active/active: classes just handed to the peer, whose frames are
//                              still taken (forwarded) but whose ARP is no longer answered
//   Int32  [14] retiring       1 once an active box stops with no peer to take over (an orderly end
//                              of the whole pair): the dataplane sends its last router
//                              advertisements, router lifetime 0 (docs/ipv6.md)
//   Float64[8..] counters      dataplane counters, single writer (the dataplane), read by metrics
//
// The lease is what makes a frozen box safe: if the process was stopped (SIGSTOP, a VM pause, a
// long GC) the lease has expired by the time it wakes, so the dataplane forwards nothing and answers
// no ARP until the control agent, having heard the peer again, renews it.

export const ROLE_PASSIVE = 0;
export const ROLE_ACTIVE = 1;

/** Active/active floating-address classes (servedClasses bits): device 0's, device 1's, the primary's. */
export const CLASS_DEVICE0 = 1;
export const CLASS_DEVICE1 = 2;
export const CLASS_PRIMARY = 4;

const I32_ROLE = 0;
const I32_GARP_SEQ = 1;
const I32_ROLE_EPOCH = 2;
const I32_HANDOVER = 3;
const I32_ANNOUNCED_MASK = 8;
const I32_CAPTURE_CLOSED = 9;
const I32_SERVED = 10;
const I32_PEER_FORWARDING = 11;
const I32_PRIMARY = 12;
const I32_ACCEPTED = 13;
const I32_RETIRING = 14;
const F64_LEASE = 2;
const F64_PEER_ANNOUNCED = 3;
const F64_COUNTERS = 8;

export class SharedState {
  readonly buffer: SharedArrayBuffer;
  private readonly i32: Int32Array;
  private readonly f64: Float64Array;
  readonly counterCount: number;

  constructor(counterCount: number, buffer?: SharedArrayBuffer) {
    this.counterCount = counterCount;
    this.buffer = buffer ?? new SharedArrayBuffer((F64_COUNTERS + counterCount) * 8);
    if (this.buffer.byteLength < (F64_COUNTERS + counterCount) * 8) {
      throw new Error(`shared state buffer too small for ${counterCount} counters`);
    }
    this.i32 = new Int32Array(this.buffer, 0, 16);
    this.f64 = new Float64Array(this.buffer);
  }

  get role(): number {
    return Atomics.load(this.i32, I32_ROLE);
  }

  get roleEpoch(): number {
    return Atomics.load(this.i32, I32_ROLE_EPOCH);
  }

  get garpSeq(): number {
    return Atomics.load(this.i32, I32_GARP_SEQ);
  }

  get handingOver(): boolean {
    return this.i32[I32_HANDOVER] === 1;
  }

  /** The pair ends here: this active box stops and no peer takes over (see the layout). */
  get retiring(): boolean {
    return Atomics.load(this.i32, I32_RETIRING) === 1;
  }

  /** Control side, at an orderly stop: set before the role goes passive, so the dataplane sees both. */
  setRetiring(): void {
    Atomics.store(this.i32, I32_RETIRING, 1);
  }

  /** Control side: a planned hand-over starts or ends (see the layout). */
  setHandingOver(on: boolean): void {
    if (on) {
      Atomics.store(this.i32, I32_ANNOUNCED_MASK, 0);
      this.f64[F64_PEER_ANNOUNCED] = 0;
    }
    Atomics.store(this.i32, I32_HANDOVER, on ? 1 : 0);
  }

  /** Control side: when the new active's announcements had been seen everywhere (0 = not yet). */
  get peerAnnouncedAtMs(): number {
    return this.f64[F64_PEER_ANNOUNCED];
  }

  /** Dataplane side: interface `ifIndex`'s capture handle is open (or closed). */
  setCaptureOpen(ifIndex: number, open: boolean): void {
    if (ifIndex > 30) return;
    if (open) Atomics.and(this.i32, I32_CAPTURE_CLOSED, ~(1 << ifIndex));
    else Atomics.or(this.i32, I32_CAPTURE_CLOSED, 1 << ifIndex);
  }

  /** Control side: is interface `ifIndex`'s capture handle open? */
  captureOpen(ifIndex: number): boolean {
    return ifIndex > 30 || (Atomics.load(this.i32, I32_CAPTURE_CLOSED) & (1 << ifIndex)) === 0;
  }

  /**
   * Dataplane side, during a hand-over: the new active's gratuitous ARP came in on interface
   * `ifIndex`; once every interface of `allMask` has seen one, the time is recorded.
   */
  markPeerAnnounced(ifIndex: number, allMask: number, nowMs: number): void {
    if (ifIndex > 30 || this.i32[I32_HANDOVER] !== 1) return;
    const mask = Atomics.or(this.i32, I32_ANNOUNCED_MASK, 1 << ifIndex) | (1 << ifIndex);
    if ((mask & allMask) === allMask && this.f64[F64_PEER_ANNOUNCED] === 0) this.f64[F64_PEER_ANNOUNCED] = nowMs;
  }

  get leaseUntilMs(): number {
    return this.f64[F64_LEASE];
  }

  /** Control side: set the role. Demotion takes effect before the next frame is looked at. */
  setRole(role: number): void {
    if (role === ROLE_PASSIVE) this.f64[F64_LEASE] = 0;
    if (Atomics.exchange(this.i32, I32_ROLE, role) !== role) Atomics.add(this.i32, I32_ROLE_EPOCH, 1);
  }

  /** Control side: allow acting as active until `untilMs` (monotonicMs clock). */
  renewLease(untilMs: number): void {
    this.f64[F64_LEASE] = untilMs;
  }

  /** Control side: ask the dataplane for a gratuitous-ARP burst. */
  requestGarp(): void {
    Atomics.add(this.i32, I32_GARP_SEQ, 1);
  }

  /** Dataplane side: true when frames may be forwarded and floating IPs answered right now. */
  mayActAsActive(nowMs: number): boolean {
    return this.i32[I32_ROLE] === ROLE_ACTIVE && nowMs < this.f64[F64_LEASE];
  }

  /**
   * Control side, active/active: what this box answers for, whether the peer forwards, who is
   * primary. A box that does not forward serves no class, so the order against setRole does not
   * matter: a box becoming active serves nothing until its pair view arrives (the same step).
   */
  setPairView(servedClasses: number, peerForwarding: boolean, primaryId: number, acceptedClasses = 0): void {
    Atomics.store(this.i32, I32_ACCEPTED, acceptedClasses);
    Atomics.store(this.i32, I32_SERVED, servedClasses);
    Atomics.store(this.i32, I32_PEER_FORWARDING, peerForwarding ? 1 : 0);
    Atomics.store(this.i32, I32_PRIMARY, primaryId);
  }

  /** Dataplane side, active/active: the classes this box answers for (CLASS_* bits). */
  get servedClasses(): number {
    return Atomics.load(this.i32, I32_SERVED);
  }

  /**
   * Dataplane side, active/active: classes handed to the peer a moment ago: frames sent to their
   * MACs are still taken, but their ARP is the peer's to answer (so the switches follow the peer's
   * announcement, not ours).
   */
  get acceptedClasses(): number {
    return Atomics.load(this.i32, I32_ACCEPTED);
  }

  /** Dataplane side, active/active: the peer forwards (its sessions go to it over HA3). */
  get peerForwarding(): boolean {
    return Atomics.load(this.i32, I32_PEER_FORWARDING) === 1;
  }

  /** Dataplane side, active/active: the active-primary's device id. */
  get primaryId(): number {
    return Atomics.load(this.i32, I32_PRIMARY);
  }

  /** Dataplane side: the counters array (index = position in the dataplane's counter list). */
  counters(): Float64Array {
    return new Float64Array(this.buffer, F64_COUNTERS * 8, this.counterCount);
  }
}

// The session table as the operator sees it (GET /v1/sessions, `tandem sessions`): one SessionView
// per session, built lazily in table order, each address printed in its family's form.
import { formatIpv4 } from '../net/ipv4.js';
import { formatIpv6 } from '../net/ipv6.js';
import { DEFAULT_RULE_LABEL, natKind, type SessionProtocol, type SessionTuple, type SessionView, type TcpSideView } from '../wire/session-view.js';
import { ownerOf } from './aa-path.js';
import { FLOW_STATE_NAMES } from './flow-state.js';
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from './packet.js';
import type { PipelineInterface } from './pipeline-interface.js';
import { DIR_ORIGINAL, DIR_REPLY, type SessionTable } from './session-table.js';
import { TCP_STATE_NAMES } from './tcp-state.js';
import { WF_KNOWN, WF_SHIFT, WF_SYNCED } from './tcp-window.js';

/** What the views name: interfaces, rules and NAT rules by index; `paired`: active/active (owners shown). */
export interface ViewNames {
  readonly interfaces: readonly PipelineInterface[];
  readonly rules: readonly string[];
  readonly natRules: readonly string[];
  readonly paired: boolean;
}

function protocolOf(proto: number): SessionProtocol | null {
  switch (proto) {
    case IPPROTO_TCP:
      return 'tcp';
    case IPPROTO_UDP:
      return 'udp';
    case IPPROTO_ICMP:
      return 'icmp';
    case IPPROTO_ICMPV6:
      return 'icmp6';
    default:
      return null;
  }
}

/** The sessions as SessionViews, lazily, in table order. */
export function* sessionViews(t: SessionTable, names: ViewNames, nowMs: number): Generator<SessionView> {
  const slots: number[] = [];
  t.forEach((slot) => slots.push(slot));
  for (const slot of slots) {
    const view = viewOf(t, names, slot, nowMs);
    if (view !== null) yield view;
  }
}

function viewOf(t: SessionTable, names: ViewNames, slot: number, nowMs: number): SessionView | null {
  const proto = t.proto(slot);
  const protocol = protocolOf(proto);
  if (protocol === null) return null;
  const echo = proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
  const original = tupleOf(t, slot, DIR_ORIGINAL, echo);
  const reply = tupleOf(t, slot, DIR_REPLY, echo);
  const ifName = (i: number) => names.interfaces[i]?.name ?? String(i);
  const rule = t.ruleId(slot);
  const natRule = t.natRuleId(slot);
  const state = t.state(slot);
  return {
    id: slot,
    protocol,
    state: (proto === IPPROTO_TCP ? TCP_STATE_NAMES[state] : FLOW_STATE_NAMES[state]) ?? String(state),
    original,
    reply,
    // echo: the NAT kind from the table's own tuples (request (id, 0), reply (0, id')); with the
    // identifier in every port field a translated identifier would look like a translated destination
    nat: echo ? natKind(keyedOf(t, slot, DIR_ORIGINAL), keyedOf(t, slot, DIR_REPLY)) : natKind(original, reply),
    rule: rule >= 0 ? names.rules[rule] : DEFAULT_RULE_LABEL,
    natRule: natRule >= 0 ? names.natRules[natRule] : null,
    ingress: ifName(t.ingress(slot)),
    egress: ifName(t.egress(slot)),
    packets: [t.packets(slot, DIR_ORIGINAL), t.packets(slot, DIR_REPLY)],
    bytes: [t.bytes(slot, DIR_ORIGINAL), t.bytes(slot, DIR_REPLY)],
    ageS: Math.max(0, Math.round((nowMs - t.createdMs(slot)) / 1000)),
    expiresInS: Math.max(0, Math.round((t.expiresMs(slot) - nowMs) / 1000)),
    loose: (t.flags(slot) & 1) !== 0,
    ...(proto === IPPROTO_TCP ? { window: [sideView(t, slot, DIR_ORIGINAL), sideView(t, slot, DIR_REPLY)] as [TcpSideView | null, TcpSideView | null] } : {}),
    ...(names.paired ? { owner: ownerOf(t.flags(slot)) } : {}),
  };
}

const words = new Uint32Array(4);

/** Address `which` (0 source, 1 destination) of direction `dir`, as text. */
function addressOf(t: SessionTable, slot: number, dir: number, which: 0 | 1): string {
  if (!t.isV6(slot)) return formatIpv4(which === 0 ? t.src(slot, dir) : t.dst(slot, dir));
  t.address6(slot, dir, which, words);
  return formatIpv6(words);
}

/** ICMP echo sessions (`echo`): the identifier in every port field (SessionView's convention). */
function tupleOf(t: SessionTable, slot: number, dir: number, echo: boolean): SessionTuple {
  const id = echo ? Math.max(t.srcPort(slot, dir), t.dstPort(slot, dir)) : -1;
  return {
    src: addressOf(t, slot, dir, 0),
    srcPort: id >= 0 ? id : t.srcPort(slot, dir),
    dst: addressOf(t, slot, dir, 1),
    dstPort: id >= 0 ? id : t.dstPort(slot, dir),
  };
}

/** The tuple as the table keys it (for natKind of echo sessions). */
function keyedOf(t: SessionTable, slot: number, dir: number): SessionTuple {
  return { src: addressOf(t, slot, dir, 0), srcPort: t.srcPort(slot, dir), dst: addressOf(t, slot, dir, 1), dstPort: t.dstPort(slot, dir) };
}

/** One side of a TCP session's window; null when nothing is known of it. */
function sideView(t: SessionTable, slot: number, dir: number): TcpSideView | null {
  const w = t.windows;
  const i = (slot << 1) | dir;
  const f = w.flags[i];
  if ((f & WF_KNOWN) === 0) return null;
  return { seqEnd: w.end[i], seqMaxEnd: w.maxEnd[i], maxWindow: w.maxWin[i], maxAck: w.maxAck[i], scale: f & WF_SHIFT, synced: (f & WF_SYNCED) !== 0 };
}

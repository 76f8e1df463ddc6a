// The status page's active/active view (docs/active-active.md): both boxes' roles, who holds each
// class of floating addresses, the sessions each device owns, HA3 each way with its rates, and
// where this box sent the packets it could not simply forward. The facts of `tandem status`'s
// Active/active section. Pure, like render.ts; drawn only when the dataplane reports activeActive.
// Browser code: no imports but types and siblings.
import type { StatusResponse } from '../protocol.js';
import type { ActiveActiveStatus, FloatingClassName, PairClassStatus, SetupDecisions } from '../../wire/pair-status.js';
import type { PageState } from './poll.js';
import { badge, esc, fields, rate, section, stateClass, table } from './html.js';

/** `dataplane.activeActive`, read leniently (an older daemon lacks the classes and decisions). */
type PairView = Pick<ActiveActiveStatus, 'device' | 'sessionsOwned' | 'ha3'> & Partial<ActiveActiveStatus>;

function pairViewOf(s: StatusResponse): PairView | null {
  const aa = (s.dataplane as { activeActive?: unknown } | null | undefined)?.activeActive as Partial<PairView> | null | undefined;
  if (aa === null || aa === undefined || typeof aa !== 'object') return null;
  return Array.isArray(aa.sessionsOwned) && typeof aa.ha3 === 'object' && aa.ha3 !== null ? (aa as PairView) : null;
}

const CLASS_LABELS: Record<FloatingClassName, string> = { device0: 'device 0', device1: 'device 1', primary: 'primary' };

/** The decisions in the order shown, each with its counter's name (the rate comes from the counters route). */
const DECISIONS: readonly [keyof SetupDecisions, string, string][] = [
  ['setupLocal', 'setup-local', 'new sessions set up here'],
  ['setupToPeer', 'setup-to-peer', 'first packets sent to the peer to set up'],
  ['toOwner', 'to-owner', 'packets sent to the owner over HA3'],
  ['missToPeer', 'miss-to-peer', 'packets that matched nothing, sent to the peer'],
  ['sessionAdopted', 'session-adopted', "the peer's sessions adopted"],
  ['deferAcked', 'defer-acked', 'first packets held until the peer acked'],
  ['deferTimeout', 'defer-timeout', 'first packets held, sent without the ack'],
  ['deferFull', 'defer-full', 'first packets not held (queue full)'],
];

/** A box's row: its name, device, and shown state. */
function roleRow(name: string | null, id: number, state: string | null, here: boolean, field: string): string[] {
  return [
    `${name === null ? 'unknown' : esc(name)}${here ? ' <span class="muted">(this box)</span>' : ''}`,
    `device ${esc(id)}`,
    state === null ? '<span class="state state-unknown">-</span>' : `<span data-field="${field}" class="${stateClass(state)}">${esc(state)}</span>`,
  ];
}

/**
 * Who holds a class: this box when it serves it; the peer when this box does not and the peer
 * forwards (one box serves each class, docs/active-active.md); nobody otherwise.
 */
function holder(c: PairClassStatus, s: StatusResponse, peerForwarding: boolean | undefined): string {
  const field = `aa-held-${c.class}`;
  if (c.served) return badge(`${s.local.name} (this box)`, 'ok', field);
  if (c.handingBack) return badge(`handing back to ${s.peer.name ?? 'the peer'}`, 'warn', field);
  if (peerForwarding === false) return badge('nobody', 'bad', field);
  return badge(s.peer.name ?? 'the peer', 'off', field);
}

function classesTable(aa: PairView, s: StatusResponse): string {
  if (aa.classes === undefined) return '';
  const rows = aa.classes.map((c) => [
    `<span data-field="aa-class-${c.class}">${esc(CLASS_LABELS[c.class] ?? c.class)}</span>`,
    c.addresses.length === 0 ? '<span class="muted">no addresses</span>' : c.addresses.map((a) => `${esc(a.address)} on ${esc(a.interface)}`).join('<br>'),
    holder(c, s, aa.peerForwarding),
  ]);
  return table(['Floating addresses', 'Addresses', 'Held by'], rows);
}

function ha3Fields(aa: PairView, state: PageState): string {
  const h = aa.ha3;
  const r = state.rates;
  const bytes = state.ha3Bytes;
  const way = (d: { frames: number; bytes: number }, frames: number | undefined, perS: number | undefined, field: string): string =>
    `<span data-field="${field}">${esc(rate(frames))} frames, ${esc(rate(perS))} bytes</span> <span class="muted">(${esc(d.frames)} frames, ${esc(d.bytes)} bytes total)</span>`;
  return fields([
    [
      'HA3 link',
      `${esc(h.device)} ${h.open ? badge('open', 'ok') : badge('closed', 'bad')} ${h.hearsPeer ? badge('hears the peer', 'ok', 'aa-ha3-peer') : badge('does not hear the peer', 'bad', 'aa-ha3-peer')}`,
    ],
    ['HA3 to peer', way(h.tx, r?.packets['ha3-tx'], bytes?.txPerS, 'aa-ha3-tx')],
    ['HA3 from peer', way(h.rx, r?.packets['ha3-rx'], bytes?.rxPerS, 'aa-ha3-rx')],
    ['First packets held', `${esc(h.held)} now`],
  ]);
}

function decisionsTable(d: SetupDecisions | undefined, state: PageState): string {
  if (d === undefined) return '';
  const rows = DECISIONS.map(([key, event, words]) => [
    `<span data-field="aa-${event}">${esc(event)}</span>`,
    esc(words),
    esc(rate(state.rates?.packets[event])),
    esc(d[key]),
  ]);
  return table(['Setup decision', 'What', 'Rate', 'Total'], rows);
}

/** The active/active section, or '' when the dataplane reports no activeActive (active/passive). */
export function activeActiveSection(s: StatusResponse, state: PageState): string {
  const aa = pairViewOf(s);
  if (aa === null) return '';
  const peerForwards =
    aa.peerForwarding === undefined
      ? ''
      : ` ${aa.peerForwarding ? badge('peer forwards', 'ok', 'aa-peer-forwarding') : badge('peer does not forward: its sessions are adopted here', 'warn', 'aa-peer-forwarding')}`;
  const roles = table(
    ['Box', 'Device', 'Role'],
    [roleRow(s.local.name, s.local.id, s.local.state, true, 'aa-local-role'), roleRow(s.peer.name, s.peer.id, s.peer.state, false, 'aa-peer-role')],
  );
  const owned = fields([
    [
      'Sessions owned',
      `device 0: <span data-field="aa-owned-0">${esc(aa.sessionsOwned[0])}</span>, device 1: <span data-field="aa-owned-1">${esc(aa.sessionsOwned[1])}</span> <span class="muted">(this box is device ${esc(aa.device)})</span>`,
    ],
  ]);
  return section(
    'Active/active',
    'active-active',
    `<p>Both boxes forward; each answers for the addresses it holds.${peerForwards}</p>` +
      roles +
      classesTable(aa, s) +
      owned +
      ha3Fields(aa, state) +
      decisionsTable(aa.decisions, state),
  );
}

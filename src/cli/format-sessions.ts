// `tandem sessions`: the session table like PAN-OS `show session all`, and its count line.
import type { SessionList, SessionTuple, SessionView } from '../api/sessions.js';
import { formatCount, formatDuration, plural, table } from './format.js';

function endpoint(addr: string, port: number, iface?: string): string {
  return `${addr}[${port}]${iface ? `/${iface}` : ''}`;
}

/** Where the original direction's source and destination are translated to ("" when not). */
export function translatedEnds(s: SessionView): { source: string; destination: string } {
  // conntrack convention (see SessionView): the reply is sent to the translated source and comes
  // from the translated destination.
  const o: SessionTuple = s.original;
  const r: SessionTuple = s.reply;
  const srcChanged = r.dst !== o.src || r.dstPort !== o.srcPort;
  const dstChanged = r.src !== o.dst || r.srcPort !== o.dstPort;
  return {
    source: srcChanged ? `(${endpoint(r.dst, r.dstPort)})` : '',
    destination: dstChanged ? `(${endpoint(r.src, r.srcPort)})` : '',
  };
}

const NAT_FLAGS: Record<SessionView['nat'], string> = { none: '', source: 'NS', destination: 'ND', both: 'NB' };
export const SESSION_FLAGS_LEGEND = 'Flags: NS source NAT, ND destination NAT, NB both, L loose (picked up mid-stream, e.g. after a failover)';

/**
 * Like PAN-OS `show session all`: two lines per session, the source side (original source,
 * ingress interface, translated source, policy rule) over the destination side (original
 * destination, egress interface, translated destination, NAT rule); packets and bytes are
 * "original/reply"; then a count line.
 */
export function formatSessions(list: SessionList): string {
  const out: string[] = [];
  if (list.sessions.length > 0) {
    // active/active: an OWNER column (the device that processes the session's packets)
    const owners = list.sessions.some((s) => s.owner !== undefined);
    const withOwner = (cells: string[], owner: string): string[] => (owners ? [...cells.slice(0, 4), owner, ...cells.slice(4)] : cells);
    const rows: string[][] = [
      withOwner(['ID', 'PROTO', 'STATE', 'FLAGS', 'SOURCE[PORT]/IF', 'TRANSLATED', 'RULE', 'PACKETS', 'BYTES', 'AGE', 'EXPIRES'], 'OWNER'),
      withOwner(['', '', '', '', 'DESTINATION[PORT]/IF', 'TRANSLATED', 'NAT RULE', '', '', '', ''], ''),
    ];
    let anyFlag = false;
    for (const s of list.sessions) {
      const flags = [NAT_FLAGS[s.nat] ?? '', s.loose ? 'L' : ''].filter((f) => f !== '').join(',');
      if (flags !== '') anyFlag = true;
      const x = translatedEnds(s);
      const first = [
        String(s.id),
        s.protocol,
        s.state,
        flags,
        endpoint(s.original.src, s.original.srcPort, s.ingress),
        x.source,
        s.rule,
        `${formatCount(s.packets[0])}/${formatCount(s.packets[1])}`,
        `${formatCount(s.bytes[0])}/${formatCount(s.bytes[1])}`,
        formatDuration(s.ageS),
        s.expiresInS <= 0 ? 'now' : formatDuration(s.expiresInS),
      ];
      rows.push(withOwner(first, s.owner === undefined ? '-' : `device ${s.owner}`));
      rows.push(withOwner(['', '', '', '', endpoint(s.original.dst, s.original.dstPort, s.egress), x.destination, s.natRule ?? '', '', '', '', ''], ''));
    }
    out.push(table(rows));
    out.push('');
    if (anyFlag) out.push(SESSION_FLAGS_LEGEND);
    if (owners) out.push(ownerCountLine(list));
  }
  out.push(sessionCountLine(list));
  return `${out.join('\n')}\n`;
}

/** Active/active: "Shown by owner: device 0 3, device 1 2." (of the sessions listed). */
export function ownerCountLine(list: SessionList): string {
  const count = (d: 0 | 1): number => list.sessions.filter((s) => s.owner === d).length;
  return `Shown by owner: device 0 ${count(0)}, device 1 ${count(1)}.`;
}

/** "2 sessions shown of 3 matching, 5 in the table." (+ how to see the rest when truncated). */
export function sessionCountLine(list: SessionList): string {
  const inTable = `${list.total} in the table`;
  if (list.matched === 0) return `No matching sessions (${inTable}).`;
  const line = `${plural(list.sessions.length, 'session')} shown of ${list.matched} matching, ${inTable}.`;
  return list.truncated ? `${line} Truncated: raise --limit or narrow the filter to see the rest.` : line;
}

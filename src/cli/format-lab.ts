// `tandem lab up|status`: the lab's boxes and hosts as two tables.
import { table } from './format.js';

/** What `tandem lab status` returns (DESIGN "The lab"); fields beyond these are ignored here. */
export interface LabStatusView {
  name: string;
  boxes: Record<
    string,
    {
      namespace: string;
      pid?: number | null;
      state?: string | null;
      reason?: string | null;
      api?: string | null;
      metrics?: string | null;
      /** Why state is null (the API error). */
      error?: string;
    }
  >;
  hosts: Record<string, { namespace: string; address?: string | null; gateway?: string | null; address6?: string | null; gateway6?: string | null }>;
  floatingIps?: string[];
  /** The HA links' address family (`lab up --ha-family`). */
  haFamily?: string;
  /** Router advertisements on lan (`lab up --ipv6-ra`). */
  ipv6Ra?: boolean;
  /** `lab up --pairs N`: every pair's status (the first is this lab's). */
  pairs?: LabStatusView[];
  /** `lab up --tls`: the lab's CA and the client certificate its tools use. */
  tls?: { ca: string; clientCert: string; clientKey: string };
}

export function formatLabStatus(s: LabStatusView): string {
  const dash = (v: string | number | boolean | null | undefined): string => (v === null || v === undefined || v === '' ? '-' : String(v));
  const out: string[] = [`Lab ${s.name}`, ''];
  const boxes = Object.entries(s.boxes ?? {});
  if (boxes.length === 0) out.push('  no boxes');
  else {
    const rows = [['BOX', 'NAMESPACE', 'PID', 'STATE', 'REASON', 'API', 'METRICS']];
    for (const [name, b] of boxes) {
      const reason = b.state === null || b.state === undefined ? (b.error ?? b.reason) : b.reason;
      rows.push([name, dash(b.namespace), dash(b.pid), dash(b.state), dash(reason), dash(b.api), dash(b.metrics)]);
    }
    out.push(table(rows));
  }
  out.push('');
  const hosts = Object.entries(s.hosts ?? {});
  if (hosts.length === 0) out.push('  no hosts');
  else {
    const gw = hosts.some(([, h]) => h.gateway);
    const v6 = hosts.some(([, h]) => h.address6);
    const gw6 = hosts.some(([, h]) => h.gateway6);
    const rows = [['HOST', 'NAMESPACE', 'ADDRESS', ...(gw ? ['GATEWAY'] : []), ...(v6 ? ['ADDRESS6'] : []), ...(gw6 ? ['GATEWAY6'] : [])]];
    for (const [name, h] of hosts) {
      rows.push([
        name,
        dash(h.namespace),
        dash(h.address),
        ...(gw ? [dash(h.gateway)] : []),
        ...(v6 ? [dash(h.address6)] : []),
        // learnt from the pair's router advertisements on lan, not a static route
        ...(gw6 ? [h.gateway6 && s.ipv6Ra && name.startsWith('client') ? `${h.gateway6} (RA)` : dash(h.gateway6)] : []),
      ]);
    }
    out.push(table(rows));
  }
  if (s.floatingIps?.length) {
    out.push('');
    out.push(`Floating IPs: ${s.floatingIps.join(', ')}`);
  }
  if (s.haFamily !== undefined || s.ipv6Ra !== undefined) {
    out.push(`HA links over ${s.haFamily === 'ipv6' ? 'IPv6' : 'IPv4'}; router advertisements on lan ${s.ipv6Ra ? 'on' : 'off'}`);
  }
  if (s.pairs !== undefined) out.push('', formatPairs(s.pairs));
  if (s.tls) {
    out.push(`API over HTTPS with mutual TLS: --ca ${s.tls.ca} --cert ${s.tls.clientCert} --key ${s.tls.clientKey}`);
    // the host routes the boxes' management addresses out of the machine: only the relays reach them
    out.push("From this host reach the APIs through each box's relay socket (lab status --json: apiSocket), never their URL directly");
  }
  return `${out.join('\n')}\n`;
}

/** `lab up --pairs N`: one line per box of every pair (`lab status --name <pair>` shows one whole). */
function formatPairs(pairs: readonly LabStatusView[]): string {
  const rows = [['PAIR', 'BOX', 'STATE', 'PID', 'API']];
  for (const p of pairs) {
    for (const [box, b] of Object.entries(p.boxes ?? {}))
      rows.push([p.name, box, b.state ?? `- (${b.error ?? 'no answer'})`, String(b.pid ?? '-'), b.api ?? '-']);
  }
  return `Fleet of ${pairs.length} pairs (lab down --name ${pairs[0]?.name ?? '?'} removes them all):\n${table(rows)}`;
}

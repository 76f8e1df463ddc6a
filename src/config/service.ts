// A policy or NAT rule's service, as written in the config: "tcp/80", "udp/1000-2000", "icmp",
// "any". The schema checks it with this parser, the semantic checks read its protocol, and the
// dataplane's policy compiler turns it into port ranges.

export type ParsedService = { protocol: 'any' | 'icmp' } | { protocol: 'tcp' | 'udp'; portLow: number; portHigh: number };

/** "tcp/80", "udp/1000-2000", "icmp", "any" -> parts; null for anything else. */
export function parseService(text: string): ParsedService | null {
  if (text === 'any' || text === 'icmp') return { protocol: text };
  const m = /^(tcp|udp)\/([1-9]\d{0,4})(?:-([1-9]\d{0,4}))?$/.exec(text);
  if (!m) return null;
  const portLow = Number(m[2]);
  const portHigh = m[3] === undefined ? portLow : Number(m[3]);
  if (portLow > 65535 || portHigh > 65535 || portLow > portHigh) return null;
  return { protocol: m[1] as 'tcp' | 'udp', portLow, portHigh };
}

// The boxes' configs as `tandem lab up` writes them into the run dir: the files of deploy/lab (or
// --config) as they are, or rewritten for the options that change the config too: the HA links
// over IPv6 (--ha-family ipv6) and router advertisements on lan (--ipv6-ra). Pure: text in, text
// out, the files' comments and layout kept (yaml's Document).
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { LAB_ADDR6, LAB_BOXES, haAddress, type LabBox, type LabHaFamily, type LabTopologyOptions } from './topology.js';

/** The config keys of the HA links (device.ha.<key>) and the lab's link each runs over. */
export const HA_CONFIG_LINKS: readonly (readonly [key: string, link: 'ha1' | 'ha1b' | 'ha2' | 'mgmt'])[] = [
  ['ha1', 'ha1'],
  ['ha1Backup', 'ha1b'],
  ['heartbeatBackup', 'mgmt'],
  ['ha2', 'ha2'],
];

/**
 * The router advertisements `--ipv6-ra` adds on lan: the lan prefix on-link, no SLAAC (the hosts
 * keep their static addresses), and a short interval so a host that solicited before the daemons
 * were up learns the router within seconds (RFC 4861 6.2.1 bounds: min 3, max 4).
 */
export const LAB_RA = {
  interface: 'lan',
  prefixes: [{ prefix: LAB_ADDR6.lanPrefix, onLink: true, autonomous: false }],
  intervalS: { min: 3, max: 4 },
} as const;

function otherBox(box: LabBox): LabBox {
  return LAB_BOXES.find((b) => b !== box) as LabBox;
}

/**
 * `lab up --pairs N`: pair `pair` of the fleet gets its own group id (its own virtual MACs, as the
 * pairs of a real site sharing switches must) and the recommended timers (2N daemons share the
 * machine: the aggressive profile's 20 ms heartbeats would take a busy core for a dead peer).
 */
export interface LabFleetPair {
  pair: number;
}

/** True when the options leave the config files as they are. */
export function keepsConfig(opts: LabTopologyOptions, fleet?: LabFleetPair): boolean {
  return (opts.haFamily ?? 'ipv4') === 'ipv4' && opts.ipv6Ra !== true && fleet === undefined;
}

/**
 * A box's config text for the lab's options. The HA links present in device.ha get the lab's IPv6
 * addresses (LAB_ADDR6.ha) with ipv6; with ipv6Ra, shared.routerAdvertisements gets LAB_RA in place
 * of any entry for lan. Without either, the text is returned unchanged.
 */
export function labBoxConfig(text: string, box: LabBox, opts: LabTopologyOptions, fleet?: LabFleetPair): string {
  if (keepsConfig(opts, fleet)) return text;
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${box}.yaml: ${doc.errors[0].message}`);
  const changes: string[] = [];
  if (opts.haFamily === 'ipv6') {
    const peer = otherBox(box);
    for (const [key, link] of HA_CONFIG_LINKS) {
      if (!isMap(doc.getIn(['device', 'ha', key]))) continue;
      doc.setIn(['device', 'ha', key, 'local'], LAB_ADDR6.ha[box][link]);
      doc.setIn(['device', 'ha', key, 'peer'], LAB_ADDR6.ha[peer][link]);
    }
    changes.push('the HA links over IPv6 (--ha-family ipv6)');
  }
  if (opts.ipv6Ra === true) {
    setRouterAdvertisements(doc);
    changes.push('router advertisements on lan (--ipv6-ra)');
  }
  if (fleet !== undefined) {
    doc.setIn(['shared', 'ha', 'groupId'], fleet.pair);
    doc.setIn(['shared', 'ha', 'timers'], doc.createNode({ profile: 'recommended' }, { flow: true }));
    changes.push(`pair ${fleet.pair} of a fleet (--pairs): group id ${fleet.pair}, the recommended timers`);
  }
  return `# tandem lab up rewrote this copy: ${changes.join(', ')}\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}

function setRouterAdvertisements(doc: Document): void {
  const entry = doc.createNode(LAB_RA, { flow: true });
  const existing = doc.getIn(['shared', 'routerAdvertisements']);
  if (isSeq(existing)) {
    existing.items = existing.items.filter((item) => !(isMap(item) && item.get('interface') === LAB_RA.interface));
    existing.items.push(entry);
  } else {
    doc.setIn(['shared', 'routerAdvertisements'], doc.createNode([LAB_RA], { flow: false }));
    const list = doc.getIn(['shared', 'routerAdvertisements']);
    if (isSeq(list)) list.items = [entry];
  }
}

/** What a box's (parsed) config says of the lab's options: what `lab status` shows. */
export function labOptionsOf(doc: unknown): { haFamily: LabHaFamily; ipv6Ra: boolean } {
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as {
    device?: { ha?: Record<string, { local?: unknown } | undefined> };
    shared?: { routerAdvertisements?: unknown };
  };
  const local = d.device?.ha?.ha1?.local;
  const ras = d.shared?.routerAdvertisements;
  return {
    haFamily: typeof local === 'string' && local.includes(':') ? 'ipv6' : 'ipv4',
    ipv6Ra: Array.isArray(ras) && ras.some((r) => typeof r === 'object' && r !== null && (r as { interface?: unknown }).interface === LAB_RA.interface),
  };
}

/** The TCP port of a box's API with `lab up --tls` (the default API port). */
export const LAB_TLS_API_PORT = 9480;

/**
 * Where a box's API listens with `--tls`: its management address (the heartbeat backup's local
 * address, which is on the mgmt link), as the API of a real box is on its management network.
 */
export function labApiAddress(text: string, box: LabBox, family: LabHaFamily): string {
  const local = parseDocument(text).getIn(['device', 'ha', 'heartbeatBackup', 'local']);
  return typeof local === 'string' ? local : haAddress(box, 'mgmt', family);
}

/** device.api of a box with `--tls`: TCP on `address`, the box's certificate, and mutual TLS with the lab's CA. */
export function labTlsApiConfig(text: string, box: LabBox, api: { address: string; certFile: string; keyFile: string; clientCaFile: string }): string {
  const doc = parseDocument(text);
  if (doc.errors.length > 0) throw new Error(`${box}.yaml: ${doc.errors[0].message}`);
  const host = api.address.includes(':') ? `[${api.address}]` : api.address;
  doc.setIn(['device', 'api', 'listen'], `${host}:${LAB_TLS_API_PORT}`);
  doc.setIn(['device', 'api', 'tls'], doc.createNode({ certFile: api.certFile, keyFile: api.keyFile, clientCaFile: api.clientCaFile }, { flow: true }));
  return `# tandem lab up --tls: the API serves HTTPS with mutual TLS on the management address\n${doc.toString({ lineWidth: 0, flowCollectionPadding: false })}`;
}

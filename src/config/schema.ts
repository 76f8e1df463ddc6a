// What a valid config is: the zod schema (shapes, bounds, defaults), then the semantic checks that
// need the whole file (checks.ts: names that must exist, addresses that must fit a subnet). Every
// rule states what it expects in words, because that text is what an operator reads in the error.
import { z } from 'zod';
import { ANY_ADDRESS, familyOf } from '../net/family.js';
import { isCidr, isIpv4, parseCidr } from '../net/ipv4.js';
import { isCidr6, isIpv6, isLinkLocal6, isLoopback6, isMulticast6, isUnspecified6, parseCidr6 } from '../net/ipv6.js';
import { NAT_IPV4_ONLY } from './checks-ipv6.js';
import { SHORT_FORM_LINK_GROUPS, checkConfig } from './checks.js';
import { formatPath } from './errors.js';
import { parseService } from './service.js';
import { TIMER_BOUNDS, TIMER_FIELDS, resolveTimers, type TimerField } from './timers.js';
import type { ConfigIssue, DeviceConfig, SharedConfig, TandemConfig } from './types.js';

// ---------------------------------------------------------------------------------------------
// Defaults that other modules may want to cite.

/** HA1 session (TCP) and HA1 heartbeats (UDP); the HA1 backup link uses the same ports. */
export const DEFAULT_HA1_PORT = 28769;
export const DEFAULT_HEARTBEAT_PORT = 28771;
/** HA2 session sync stream (TCP). */
export const DEFAULT_HA2_PORT = 28770;

/** Linux IFNAMSIZ is 16 including the terminating NUL (include/uapi/linux/if.h). */
export const MAX_KERNEL_IFNAME_CHARS = 15;

// Bounds on list sizes: a config file is outside input and must not size our memory.
const MAX_RULES = 10000;
const MAX_ADDRESSES_PER_RULE = 1000;
const MAX_ITEMS = 1000;

// ---------------------------------------------------------------------------------------------
// Small helpers for services and listen addresses, exported for the modules that use them.

// The service parser lives with the checks that also read it; the dataplane's policy compiler
// imports it from here.
export { parseService, type ParsedService } from './service.js';

export type ParsedListen = { kind: 'tcp'; host: string; port: number } | { kind: 'unix'; path: string };

/**
 * "127.0.0.1:9480", "localhost:9480", "[::1]:9480" or "unix:/run/tandem.sock" -> parts; null for
 * anything else. An IPv6 host is written in brackets (RFC 3986 3.2.2: its colons would otherwise
 * run into the port's) and returned without them, as net.Server.listen wants it.
 */
export function parseListenAddress(text: string): ParsedListen | null {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    // a NUL cannot be in a path; an empty path would bind nothing
    return path.length > 0 && !path.includes('\0') ? { kind: 'unix', path } : null;
  }
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):([1-9]\d{0,4})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  if (m[1] !== undefined) return isIpv6(m[1]) ? { kind: 'tcp', host: m[1], port } : null;
  const host = m[2];
  if (host !== 'localhost' && !isIpv4(host)) return null;
  return { kind: 'tcp', host, port };
}

// ---------------------------------------------------------------------------------------------
// Leaf schemas. The text given as `error` is the "expected" of every issue the leaf raises
// (zod falls back to the schema's own error for its checks and refinements).

const intIn = (min: number, max: number) =>
  z
    .number({ error: `an integer from ${min} to ${max}` })
    .int()
    .min(min)
    .max(max);

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { error: `one of ${values.map((v) => JSON.stringify(v)).join(', ')}` });

const bool = () => z.boolean({ error: 'true or false' });

const port = () => intIn(1, 65535);

const deviceId = () => z.literal([0, 1], { error: '0 or 1 (the two members of the pair)' });

const NAME_RE = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const NAME_WORDS = '1-63 letters, digits, "_", "-" or "." starting with a letter';
const name = (what: string) => z.string({ error: `${what} (${NAME_WORDS})` }).regex(NAME_RE);

const ipAddress = () => z.string({ error: 'an IPv4 or IPv6 address like 10.0.1.1 or 2001:db8::1' }).refine((v) => isIpv4(v) || isIpv6(v));

/** A host bits-clear prefix of either family. */
function isNetwork(v: string): boolean {
  if (isCidr(v)) return parseCidr(v).address === parseCidr(v).prefix.network;
  if (!isCidr6(v)) return false;
  const { address, prefix } = parseCidr6(v);
  return address.every((w, i) => w === prefix.network[i]);
}

/** A global IPv6 address, fit to be an interface's own: not link-local, multicast, loopback or unspecified. */
function isGlobalCidr6(v: string): boolean {
  if (!isCidr6(v)) return false;
  const a = parseCidr6(v).address;
  return !isLinkLocal6(a) && !isMulticast6(a) && !isLoopback6(a) && !isUnspecified6(a);
}

const cidr = () => z.string({ error: 'an IPv4 address with prefix length, like 10.0.1.2/24' }).refine(isCidr);

const cidr6 = () =>
  z.string({ error: 'a global IPv6 address with prefix length, like 2001:db8:1::2/64 (not link-local, multicast, loopback or ::)' }).refine(isGlobalCidr6);

/** A floating address: either family; which prefix it must lie in is checked in checks.ts. */
const anyCidr = () =>
  z
    .string({ error: 'an IPv4 or IPv6 address with prefix length, like 10.0.1.1/24, 2001:db8:1::1/64 or fe80::1/64' })
    .refine((v) => familyOf(v) !== null && v.includes('/'));

const network = () => z.string({ error: 'an IPv4 or IPv6 network with host bits clear, like 10.0.0.0/8, 0.0.0.0/0, 2001:db8::/32 or ::/0' }).refine(isNetwork);

/** A prefix advertised in router advertisements: an IPv6 network, neither link-local nor multicast. */
const raPrefix = () =>
  z
    .string({ error: 'an IPv6 network with host bits clear, like 2001:db8:1::/64 (not link-local or multicast)' })
    .refine((v) => isCidr6(v) && isNetwork(v) && !isLinkLocal6(parseCidr6(v).address) && !isMulticast6(parseCidr6(v).address));

/**
 * Policy and NAT match addresses: a prefix, or a bare address meaning that one host (/32 or /128).
 * Either family; NAT rules are then held to IPv4 by checks.ts.
 */
const matchAddress = () =>
  z
    .string({
      error: 'an IPv4 or IPv6 prefix or address, like 10.0.1.0/24, 10.0.1.5, 2001:db8:1::/64 or 2001:db8:1::5, or "any" (every address of both families)',
    })
    .refine((v) => v === ANY_ADDRESS || familyOf(v) !== null)
    .transform((v) => (isIpv4(v) ? `${v}/32` : isIpv6(v) ? `${v}/128` : v));

const service = () =>
  z
    .string({
      error: 'a service: "tcp/<port>", "udp/<port>", "tcp/<low>-<high>", "icmp" or "any" (ports 1-65535, low <= high)',
    })
    .refine((v) => parseService(v) !== null);

const listen = () =>
  z
    .string({
      error: '"<host>:<port>" with an IPv4 address or localhost and a port 1-65535, "[<IPv6 address>]:<port>" like [::1]:9480, or "unix:<path>"',
    })
    .refine((v) => parseListenAddress(v) !== null);

const filePath = (what: string) => z.string({ error: `${what} (a non-empty path)` }).min(1);

/** A path handed to openssl-style readers: no NUL (it would cut the path short at the OS). */
const pemPath = (what: string) =>
  z
    .string({ error: `${what} (a non-empty path to a PEM file)` })
    .min(1)
    .refine((v) => !v.includes('\0'));

// HTTPS for the management API (docs/security.md "HTTPS and mutual TLS"): the certificate chain and
// its key; with clientCaFile only clients holding a certificate signed by that CA get through the
// handshake (mutual TLS). The files are re-read when they change (certificate renewal).
const apiTls = obj(
  {
    certFile: pemPath('the server certificate file (PEM, the chain after the leaf)'),
    keyFile: pemPath("the server certificate's private key file (PEM, mode 0600)"),
    clientCaFile: pemPath('the CA file (PEM) that client certificates must be signed by').optional(),
  },
  'the API TLS settings: { certFile, keyFile, clientCaFile? }',
);

const kernelIfname = () =>
  z
    .string({
      error: `a kernel interface name (1-${MAX_KERNEL_IFNAME_CHARS} characters, no spaces, "/" or ":")`,
    })
    .regex(/^[^\s/:]{1,15}$/)
    .refine((v) => v !== '.' && v !== '..');

const list = <T extends z.ZodType>(item: T, what: string, opts: { min?: number; max?: number } = {}) => {
  const min = opts.min ?? 0;
  const max = opts.max ?? MAX_ITEMS;
  const words = min > 0 ? `a list of ${min} to ${max} ${what}` : `a list of up to ${max} ${what}`;
  return z.array(item, { error: words }).min(min).max(max);
};

/** A name or a list of names (`from: trust` or `from: [trust, dmz]`); the output is always a list. */
const nameOrList = (what: string, plural: string) => z.preprocess((v) => (typeof v === 'string' ? [v] : v), list(name(what), plural, { min: 1, max: 64 }));

// ---------------------------------------------------------------------------------------------
// Strict objects. An unknown key is an error; the message carries the known keys so the issue
// mapper below can list them and suggest the nearest.

const KNOWN_KEYS_PREFIX = 'known keys: ';

export function obj<S extends z.ZodRawShape>(shape: S, what = 'a mapping (key: value pairs)') {
  const known = Object.keys(shape);
  return z.strictObject(shape, {
    error: (iss) => (iss.code === 'unrecognized_keys' ? `${KNOWN_KEYS_PREFIX}${known.join(', ')}` : what),
  });
}

// ---------------------------------------------------------------------------------------------
// device: never leaves the box.

const haLink = (defaultPort: number) =>
  obj(
    {
      local: ipAddress(),
      peer: ipAddress(),
      port: port().default(defaultPort),
      heartbeatPort: port().default(DEFAULT_HEARTBEAT_PORT),
    },
    'an HA link: { local: <address>, peer: <address> }',
  );

// Heartbeats only, over another network (usually management): no TCP session, so no commands or
// config sync, but both boxes still see each other's state when both HA1 links are down.
const heartbeatBackupLink = obj(
  { local: ipAddress(), peer: ipAddress(), port: port().default(DEFAULT_HEARTBEAT_PORT) },
  'a heartbeat backup link: { local: <address>, peer: <address>, port: <UDP port> }',
);

// mssClamp: TCP SYNs crossing the interface (in or out) get their MSS option lowered to this
// (docs/firewall.md "TCP MSS clamping"); 536 is the IPv4 default MSS every host accepts (RFC 879)
// vlan: the interface is the 802.1Q VLAN of that id on the device (docs/firewall.md "VLAN
// interfaces"); 0 means priority-tagged only and 4095 is reserved (802.1Q-2018 table 9-2)
// address6: the box's own global IPv6 address there (link-local ones are the kernel's business, and
// the pair's floating link-local address is a floating IP)
const interfaceSchema = obj(
  { device: kernelIfname(), vlan: intIn(1, 4094).optional(), address: cidr(), address6: cidr6().optional(), mssClamp: intIn(536, 65495).optional() },
  'an interface: { device: <kernel name>, vlan?: <802.1Q id>, address: <address>/<length>, address6?: <IPv6 address>/<length>, mssClamp?: <bytes> }',
);

// The management API's request rate limit (src/api/rate-limit.ts, whose DEFAULT_RATE_LIMIT a unit
// test keeps equal to these defaults): far above the CLI and the status page, a bound on a flood.
const apiRateLimit = obj(
  {
    perClientPerS: intIn(1, 100_000).default(100),
    perClientBurst: intIn(1, 1_000_000).default(200),
    globalPerS: intIn(1, 1_000_000).default(1000),
    globalBurst: intIn(1, 10_000_000).default(2000),
    maxClients: intIn(1, 1_000_000).default(4096),
  },
  'the API rate limit: { perClientPerS, perClientBurst, globalPerS, globalBurst, maxClients } (requests per second and bucket sizes)',
).prefault({});

// The rate limit of the ICMP errors and reject answers the box sends (src/dataplane/icmp-rate.ts,
// whose ICMP_RATE_DEFAULTS a unit test keeps equal to these defaults; RFC 1812 4.3.2.8).
const icmpErrorRate = obj(
  {
    perSourcePerS: intIn(1, 100_000).default(10),
    perSourceBurst: intIn(1, 1_000_000).default(20),
    globalPerS: intIn(1, 1_000_000).default(1000),
    globalBurst: intIn(1, 10_000_000).default(100),
  },
  'the ICMP error rate limit: { perSourcePerS, perSourceBurst, globalPerS, globalBurst } (errors per second and bucket sizes)',
).prefault({});

export const deviceSchema = obj(
  {
    id: deviceId(),
    name: name('a device name'),
    priority: intIn(0, 255),
    interfaces: z.record(name('a logical interface name like lan or wan'), interfaceSchema, {
      error: 'a mapping of logical interface names (lan, wan, ...) to { device, address }',
    }),
    ha: obj({
      ha1: haLink(DEFAULT_HA1_PORT),
      ha1Backup: haLink(DEFAULT_HA1_PORT).optional(),
      heartbeatBackup: heartbeatBackupLink.optional(),
      ha2: haLink(DEFAULT_HA2_PORT).optional(),
      ha3: obj({ device: kernelIfname() }, 'an HA3 link: { device: <kernel name> }').optional(),
      keyFile: filePath('the pre-shared key file'),
    }),
    api: obj({ listen: listen(), tokenFile: filePath('the API token file'), rateLimit: apiRateLimit, tls: apiTls.optional() }),
    metrics: obj({ listen: listen() }),
    stateDir: filePath('the state directory'),
    log: obj({ level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal']).default('info') }).prefault({}),
    // which frame I/O the dataplane uses (docs/packet-io.md): tandem's own AF_PACKET rings, or libpcap through cap
    dataplane: obj({
      icmpErrors: icmpErrorRate,
      io: oneOf(['ring', 'pcap']).default('ring'),
      // the ring backend's kernel interface: TPACKET_V2 slots (default: a frame is handed over at
      // once) or TPACKET_V3 blocks (handed over when full or after blockTimeoutMs, in jiffies)
      // txThread: bulk batches leave from a sender thread of the addon's (small ones and re-judged
      // ones from the dataplane's thread), or (default) every batch from the dataplane's thread
      // (docs/packet-io.md: the thread's queue can let frames leave after a demotion)
      ring: obj({
        version: z.literal([2, 3], { error: '2 or 3 (TPACKET_V2 or TPACKET_V3)' }).default(2),
        blockTimeoutMs: intIn(1, 1000).default(1),
        txThread: z.boolean({ error: 'true or false' }).default(false),
      }).prefault({}),
    }).prefault({}),
  },
  'the device half: a mapping with id, name, priority, interfaces, ha, api, metrics, stateDir',
);

// ---------------------------------------------------------------------------------------------
// shared: committed on the active, pushed to the peer.

const timerFields = Object.fromEntries(TIMER_FIELDS.map((f) => [f, intIn(TIMER_BOUNDS[f].min, TIMER_BOUNDS[f].max).optional()])) as Record<
  TimerField,
  z.ZodOptional<ReturnType<typeof intIn>>
>;

const timersSchema = obj(
  { profile: oneOf(['recommended', 'aggressive']).optional(), ...timerFields },
  'timers: { profile: recommended|aggressive, and any timer to override }',
).prefault({});

const linkInterfaces = () => list(name('a logical interface name'), 'logical interface names', { min: 1, max: 64 });

/** The one group of the short form `linkMonitoring: { failureCondition, interfaces }`. */
export const SHORT_FORM_LINK_GROUP = 'links';

// Two forms: groups ({ failureCondition: <across groups>, groups: [{ name, interfaces,
// failureCondition }] }), or DESIGN.md's short form { failureCondition, interfaces }, which is one
// group named "links" whose condition is the one given (one group: the HA level is moot).
const linkMonitoringSchema = obj({
  failureCondition: oneOf(['any', 'all']).default('any'),
  interfaces: linkInterfaces().optional(),
  groups: list(obj({ name: name('a link group name'), interfaces: linkInterfaces(), failureCondition: oneOf(['any', 'all']).default('any') }), 'link groups', {
    min: 1,
    max: 64,
  }).optional(),
})
  .refine((m) => (m.interfaces === undefined) !== (m.groups === undefined), {
    error: 'either interfaces: [<logical names>] (one group) or groups: [{ name, interfaces, failureCondition }], not both',
  })
  .transform((m) => {
    if (m.groups !== undefined) return { failureCondition: m.failureCondition, groups: m.groups };
    const group = { name: SHORT_FORM_LINK_GROUP, interfaces: m.interfaces ?? [], failureCondition: m.failureCondition };
    SHORT_FORM_LINK_GROUPS.add(group);
    return { failureCondition: 'any' as const, groups: [group] };
  });

const pathGroupSchema = obj({
  name: name('a path group name'),
  targets: list(ipAddress(), 'IPv4 or IPv6 addresses', { min: 1, max: 16 }),
  // the DESIGN example's values: a dead target is noticed after 600 ms
  intervalMs: intIn(10, 60000).default(200),
  failures: intIn(1, 100).default(3),
  failureCondition: oneOf(['any', 'all']).default('any'),
});

const pathMonitoringSchema = obj({
  failureCondition: oneOf(['any', 'all']).default('any'),
  groups: list(pathGroupSchema, 'path groups', { min: 1, max: 64 }),
});

const floatingOwner = () => z.union([deviceId(), z.literal(['primary', 'shared'])], { error: '0 or 1 (a device id), "primary" or "shared"' });

// ARP load sharing for `owner: shared` addresses (docs/active-active.md). The seed means something
// to ip-hash only: a seed other than 0 with ip-modulo is refused rather than silently ignored (0,
// the default, stays valid so that a defaulted half validates to itself).
const arpLoadSharingSchema = obj(
  {
    method: oneOf(['ip-modulo', 'ip-hash']).default('ip-modulo'),
    seed: intIn(0, 0xffffffff).default(0),
  },
  'ARP load sharing: { method: ip-modulo|ip-hash, seed }',
)
  .prefault({})
  .refine((a) => a.method === 'ip-hash' || a.seed === 0, {
    error: '0 or no seed with method ip-modulo (the parity of the requester address takes none); a seed is for method ip-hash',
    path: ['seed'],
  });

// PAN-OS's defaults: the first packet's device owns the session; setup by the source address's parity
const activeActiveSchema = obj(
  {
    sessionOwner: oneOf(['first-packet', 'primary']).default('first-packet'),
    sessionSetup: oneOf(['first-packet', 'ip-modulo', 'ip-hash', 'primary']).default('ip-modulo'),
    ipHash: obj({
      key: oneOf(['source', 'source-and-destination']).default('source'),
      seed: intIn(0, 0xffffffff).default(0),
    }).prefault({}),
    deferMs: intIn(0, 1000).default(10),
    arpLoadSharing: arpLoadSharingSchema,
  },
  'active/active settings: { sessionOwner, sessionSetup, ipHash: { key, seed }, deferMs, arpLoadSharing: { method, seed } }',
).prefault({});

const haSchema = obj({
  mode: oneOf(['active-passive', 'active-active']).default('active-passive'),
  activeActive: activeActiveSchema,
  groupId: intIn(1, 255).default(1),
  timers: timersSchema,
  preempt: obj({
    enabled: bool().default(false),
    holdMs: intIn(TIMER_BOUNDS.preemptHoldMs.min, TIMER_BOUNDS.preemptHoldMs.max).optional(),
  }).prefault({}),
  garp: obj({
    count: intIn(1, 100).default(3),
    intervalMs: intIn(0, 10000).default(20),
    periodicS: intIn(0, 86400).default(0),
  }).prefault({}),
  virtualMac: bool().default(true),
  // docs/security.md: HA1 and HA2 encrypted with AES-256-GCM instead of HMAC-only; live, no restart
  encryption: oneOf(['none', 'aes-256-gcm']).default('none'),
  linkMonitoring: linkMonitoringSchema.optional(),
  pathMonitoring: pathMonitoringSchema.optional(),
})
  .prefault({})
  .transform((ha) => {
    const timers = resolveTimers(ha.timers);
    // preempt.holdMs is where operators look for it; when given it wins, and both places
    // then carry the same value so no reader can pick the stale one
    const holdMs = ha.preempt.holdMs ?? timers.preemptHoldMs;
    timers.preemptHoldMs = holdMs;
    return { ...ha, timers, preempt: { enabled: ha.preempt.enabled, holdMs } };
  });

const ruleMatch = {
  from: nameOrList('a zone name', 'zone names'),
  to: nameOrList('a zone name', 'zone names'),
  source: list(matchAddress(), 'IPv4 or IPv6 prefixes', { min: 1, max: MAX_ADDRESSES_PER_RULE }).default([ANY_ADDRESS]),
  destination: list(matchAddress(), 'IPv4 or IPv6 prefixes', { min: 1, max: MAX_ADDRESSES_PER_RULE }).default([ANY_ADDRESS]),
  service: list(service(), 'services', { min: 1, max: MAX_ADDRESSES_PER_RULE }).default(['any']),
};

const policyRuleSchema = obj({
  name: name('a rule name'),
  ...ruleMatch,
  action: oneOf(['allow', 'deny', 'reject']),
});

/**
 * A NAT rule. Source NAT (translate.source) hides the matched flows behind the egress interface's
 * floating IP ('interface-floating') or a fixed address, with a fresh source port per flow.
 *
 * Destination NAT (translate.destination) publishes a floating IP to an inside host. Its shape,
 * checked by checks.ts (destinationNat):
 *   - destination: the published floating IP(s), each one address (or a /32), never a wider
 *     prefix: the firewall answers ARP only for floating IPs, so nothing else can be published;
 *   - to: the zone of the published address's interface (the pre-NAT destination zone, as on
 *     PAN-OS); the inside host's zone is what the security policy's `to` names;
 *   - service: with translate.destination.port, TCP or UDP ports only (the port being published);
 *     without it, the address is published whole (any service the rule names).
 *   - { name: web-in, from: untrust, to: untrust, destination: [10.0.2.1], service: [tcp/8080],
 *       translate: { destination: { address: 10.0.1.80, port: 80 } } }
 */
const natRuleSchema = obj({
  name: name('a NAT rule name'),
  ...ruleMatch,
  translate: obj(
    {
      source: z
        .string({ error: `"interface-floating" or an IPv4 address (${NAT_IPV4_ONLY})` })
        .refine((v) => v === 'interface-floating' || isIpv4(v))
        .optional(),
      destination: obj({
        address: z.string({ error: `an IPv4 address like 10.0.1.80 (${NAT_IPV4_ONLY})` }).refine(isIpv4),
        port: port().optional(),
      }).optional(),
      bind: z.union([deviceId(), z.literal('primary')], { error: '0 or 1 (a device id) or "primary"' }).optional(),
    },
    'a translation: { source: interface-floating|<address>, destination: { address, port }, bind }',
  ).refine((t) => t.source !== undefined || t.destination !== undefined, {
    error: 'a translation with a source, a destination or both',
  }),
});

// RFC 4861 6.2.1's bounds: MaxRtrAdvInterval 4-1800 s, MinRtrAdvInterval 3 s to 0.75 x max (checked
// in checks.ts, which needs both), AdvDefaultLifetime 0 or max..9000 s. An RA must fit the IPv6
// minimum MTU: 1280 - 40 (IPv6) - 16 (RA header) - 8 (source link-layer) - 8 (MTU) leaves room for
// 37 prefix options of 32 bytes; 32 keeps it simple.
// The RAs are sent by the active only, from the interface's floating link-local address and its
// virtual MAC, so hosts take the pair as their router, never one node.
const raPrefixSchema = obj(
  {
    prefix: raPrefix(),
    onLink: bool().default(true),
    autonomous: bool().default(true),
    // lifetimes in seconds; 0xffffffff means infinity (RFC 4861 4.6.2)
    validS: intIn(0, 0xffffffff).default(2592000),
    preferredS: intIn(0, 0xffffffff).default(604800),
  },
  'a prefix to advertise: { prefix: <IPv6 network>/64, onLink, autonomous, validS, preferredS }',
);

const routerAdvertisementSchema = obj(
  {
    interface: name('a logical interface name'),
    prefixes: list(raPrefixSchema, 'prefixes', { max: 32 }).default([]),
    intervalS: obj({ min: intIn(3, 1350).default(200), max: intIn(4, 1800).default(600) }, 'the interval between RAs: { min, max } in seconds').prefault({}),
    routerLifetimeS: intIn(0, 9000).default(1800),
    hopLimit: intIn(0, 255).default(64),
    mtu: intIn(1280, 65535).optional(),
    managed: bool().default(false),
    other: bool().default(false),
  },
  'a router advertisement: { interface, prefixes, intervalS: { min, max }, routerLifetimeS, hopLimit, mtu, managed, other }',
);

export const sharedSchema = obj(
  {
    ha: haSchema,
    zones: z
      .record(name('a zone name'), nameOrList('a logical interface name', 'logical interface names'), {
        error: 'a mapping of zone names to lists of logical interface names',
      })
      .default({}),
    floatingIps: list(obj({ interface: name('a logical interface name'), address: anyCidr(), owner: floatingOwner().default(0) }), 'floating IPs').default([]),
    routes: list(obj({ to: network(), via: ipAddress(), interface: name('a logical interface name') }), 'routes', {
      max: MAX_RULES,
    }).default([]),
    policy: obj({
      default: oneOf(['allow', 'deny']).default('deny'),
      rules: list(policyRuleSchema, 'rules', { max: MAX_RULES }).default([]),
    }).prefault({}),
    nat: list(natRuleSchema, 'NAT rules', { max: MAX_RULES }).default([]),
    routerAdvertisements: list(routerAdvertisementSchema, 'router advertisements', { max: 64 }).default([]),
    sessions: obj({
      // the session table is preallocated typed arrays: this bounds its memory
      max: intIn(1, 50_000_000).default(1_000_000),
      tcpEstablishedS: intIn(1, 604800).default(3600),
      tcpTransitoryS: intIn(1, 3600).default(20),
      udpS: intIn(1, 86400).default(30),
      icmpS: intIn(1, 3600).default(10),
      // TCP sequence and window checks on established sessions (docs/firewall.md "TCP windows")
      tcpWindowCheck: oneOf(['strict', 'loose', 'off']).default('strict'),
    }).prefault({}),
  },
  'the shared half: a mapping with ha, zones, floatingIps, routes, policy, nat, routerAdvertisements, sessions',
);

export const configSchema = obj({ device: deviceSchema, shared: sharedSchema }, 'a mapping with a device: half and a shared: half');

// The schema must produce exactly the contract in types.ts: a drift fails the type check here.
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const schemaMatchesTypes: Equals<z.output<typeof configSchema>, TandemConfig> = true;
void schemaMatchesTypes;

// ---------------------------------------------------------------------------------------------
// zod issues -> ConfigIssue: the key path, the value found there, the expected text.

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key as string];
  }
  return cur;
}

function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0];
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = prev[j];
      prev[j] = Math.min(prev[j] + 1, prev[j - 1] + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = above;
    }
  }
  return prev[b.length];
}

function unknownKeyExpected(key: string, known: string[]): string {
  const near = known
    .map((k) => ({ k, d: k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(k, key) }))
    .filter((x) => x.d <= 2)
    .sort((x, y) => x.d - y.d)[0];
  const hint = near ? `; did you mean ${JSON.stringify(near.k)}?` : '';
  return `no key ${JSON.stringify(key)} here (known keys: ${known.join(', ')}${hint})`;
}

export function issuesFromZod(error: z.ZodError, raw: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const iss of error.issues) {
    if (iss.code === 'unrecognized_keys') {
      const known = iss.message.startsWith(KNOWN_KEYS_PREFIX) ? iss.message.slice(KNOWN_KEYS_PREFIX.length).split(', ') : [];
      for (const key of iss.keys) {
        const path = [...iss.path, key];
        out.push({ path: formatPath(path), value: valueAt(raw, path), expected: unknownKeyExpected(key, known) });
      }
    } else if (iss.code === 'invalid_key') {
      // the key itself is wrong: show the key, and the words of the key schema
      const key = iss.path[iss.path.length - 1];
      out.push({ path: formatPath(iss.path), value: key, expected: `a key that is ${iss.issues[0]?.message ?? 'valid'}` });
    } else {
      out.push({ path: formatPath(iss.path), value: valueAt(raw, iss.path), expected: iss.message });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------

export type ValidationResult = { ok: true; config: TandemConfig } | { ok: false; issues: ConfigIssue[] };

/** Schema then semantic checks; semantic checks need a well-typed config, so they run once the schema passes. */
export function validateConfig(raw: unknown): ValidationResult {
  const parsed = configSchema.safeParse(raw);
  if (!parsed.success) return { ok: false, issues: issuesFromZod(parsed.error, raw) };
  const issues = checkConfig(parsed.data);
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config: parsed.data };
}

/**
 * Validates a shared half on its own, as pushed by the peer over HA1: its shape, then the semantic
 * checks against this box's device half (the peer's interfaces are not ours). Only issues in the
 * shared half are reported; paths start with `shared.`.
 */
export function validateSharedConfig(raw: unknown, device: DeviceConfig): { ok: true; shared: SharedConfig } | { ok: false; issues: ConfigIssue[] } {
  const parsed = parseSharedShape(raw);
  if (!parsed.ok) return parsed;
  const issues = checkConfig({ device, shared: parsed.shared }).filter((iss) => iss.path.startsWith('shared'));
  return issues.length > 0 ? { ok: false, issues } : { ok: true, shared: parsed.shared };
}

/**
 * A shared half's shape alone, defaults filled in: what a box would run, short of the checks that
 * need its device half (interfaces, addresses). For tools that hold no device half (tandem central
 * rendering a template for a pair: the pair's box then validates it whole). Paths start with `shared`.
 */
export function parseSharedShape(raw: unknown): { ok: true; shared: SharedConfig } | { ok: false; issues: ConfigIssue[] } {
  const parsed = sharedSchema.safeParse(raw);
  if (parsed.success) return { ok: true, shared: parsed.data };
  const issues = issuesFromZod(parsed.error, raw).map((iss) => ({
    ...iss,
    path: iss.path === '' ? 'shared' : iss.path.startsWith('[') ? `shared${iss.path}` : `shared.${iss.path}`,
  }));
  return { ok: false, issues };
}

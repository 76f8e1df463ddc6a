// The lab's network: five namespaces, two bridges, veth cables. DESIGN.md "The lab".
//
//   N-client eth0 ---- c-lan [N-sw bridge lan] a-lan ---- lan0 N-fwa  wan0 ---- a-wan [N-sw bridge wan] s-wan ---- eth0 N-server
//                            [             ] b-lan ---- lan0 N-fwb  wan0 ---- b-wan [              ]
//   N-fwa ha1 ---- ha1 N-fwb,  N-fwa ha1b ---- ha1b N-fwb,  N-fwa ha2 ---- ha2 N-fwb,  N-fwa mgmt ---- mgmt N-fwb
//
// The lab is dual-stack: hosts and boxes have IPv6 addresses beside the IPv4 ones (LAB_ADDR6), the
// hosts route through the floating link-local fe80::1 (or learn it from the pair's router
// advertisements, LabTopologyOptions.ipv6Ra), and the HA links run over IPv4 or IPv6 (haFamily).
//
// mgmt stands for the management network: in the lab it carries only the heartbeat backup
// (device.ha.heartbeatBackup), so it is a direct pair like the HA links and is cut the same way.
//
// Every veth is created directly into its namespaces, so names only need to be unique inside one
// namespace. Pulling a traffic cable is setting the box's bridge port in N-sw down (the box still
// sees carrier loss, as with a real switch port shut); pulling an HA cable is setting the box's
// end of the direct pair down.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsExec, sh, trySh } from './exec.js';

export type LabBox = 'fwa' | 'fwb';
export type LabHost = 'client' | 'server' | 'client2';
/** The pair's mode: active/active adds the HA3 cable, a second client and asymmetric return routes. */
export type LabMode = 'active-passive' | 'active-active';
export const LAB_MODES: readonly LabMode[] = ['active-passive', 'active-active'];
export type LabRole = LabBox | LabHost | 'sw';
/** ha3 exists only in an active/active lab (never part of `all`). */
export type LabLink = 'lan' | 'wan' | 'ha1' | 'ha1b' | 'ha2' | 'mgmt' | 'ha3';

export const LAB_BOXES: readonly LabBox[] = ['fwa', 'fwb'];
/** The hosts of an active/passive lab; active/active adds client2 (hostsOf). */
export const LAB_HOSTS: readonly LabHost[] = ['client', 'server'];
/** Namespace suffixes, in creation order (active/passive; rolesOf for a mode). */
export const LAB_ROLES: readonly LabRole[] = ['client', 'server', 'fwa', 'fwb', 'sw'];
/** Every namespace suffix a lab of any mode may have: what teardown looks for. */
const ANY_LAB_ROLES: readonly LabRole[] = [...LAB_ROLES, 'client2'];

export function hostsOf(mode: LabMode): readonly LabHost[] {
  return mode === 'active-active' ? [...LAB_HOSTS, 'client2'] : LAB_HOSTS;
}

export function rolesOf(mode: LabMode): readonly LabRole[] {
  return mode === 'active-active' ? ANY_LAB_ROLES : LAB_ROLES;
}
export const LAB_LINKS: readonly LabLink[] = ['lan', 'wan', 'ha1', 'ha1b', 'ha2', 'mgmt'];
/** The direct pairs between the two boxes (every link but the traffic ones). */
export const BOX_PAIR_LINKS: readonly ('ha1' | 'ha1b' | 'ha2' | 'mgmt')[] = ['ha1', 'ha1b', 'ha2', 'mgmt'];

/** Addresses and device names of the lab, one place for the builder, the configs' reader and tests. */
export const LAB_ADDR = {
  lanPrefix: '10.0.1.0/24',
  wanPrefix: '10.0.2.0/24',
  floatingLan: '10.0.1.1',
  floatingWan: '10.0.2.1',
  /** Active/active: device 1's floating addresses (device 0's are floatingLan and floatingWan). */
  floatingLan1: '10.0.1.4',
  floatingWan1: '10.0.2.4',
  client: '10.0.1.10',
  server: '10.0.2.10',
  /** Active/active: the second client, whose gateway is device 1's. */
  client2: '10.0.1.11',
  prefixLength: 24,
  boxes: {
    fwa: { lan: '10.0.1.2', wan: '10.0.2.2', ha1: '172.31.0.1', ha1b: '172.31.1.1', ha2: '172.31.2.1', mgmt: '172.31.9.1' },
    fwb: { lan: '10.0.1.3', wan: '10.0.2.3', ha1: '172.31.0.2', ha1b: '172.31.1.2', ha2: '172.31.2.2', mgmt: '172.31.9.2' },
  },
} as const;

/**
 * The IPv6 addresses of the lab, beside LAB_ADDR's. Every one is added with `nodad` (usable at
 * once). The floating ones are the daemons', never kernel addresses.
 */
export const LAB_ADDR6 = {
  lanPrefix: '2001:db8:1::/64',
  wanPrefix: '2001:db8:2::/64',
  floatingLan: '2001:db8:1::1',
  floatingWan: '2001:db8:2::1',
  /** Active/active: device 1's global floating addresses (device 0's are floatingLan and floatingWan). */
  floatingLan1: '2001:db8:1::4',
  floatingWan1: '2001:db8:2::4',
  /** The floating link-local address on each interface: the hosts' IPv6 router (device 0's in active/active). */
  linkLocal: 'fe80::1',
  client: '2001:db8:1::10',
  server: '2001:db8:2::10',
  client2: '2001:db8:1::11',
  prefixLength: 64,
  boxes: {
    fwa: { lan: '2001:db8:1::2', wan: '2001:db8:2::2' },
    fwb: { lan: '2001:db8:1::3', wan: '2001:db8:2::3' },
  },
  /** The HA links' addresses with `--ha-family ipv6` (unique local, one /64 per link). */
  ha: {
    fwa: { ha1: 'fd00:31::1', ha1b: 'fd00:31:1::1', ha2: 'fd00:31:2::1', mgmt: 'fd00:31:9::1' },
    fwb: { ha1: 'fd00:31::2', ha1b: 'fd00:31:1::2', ha2: 'fd00:31:2::2', mgmt: 'fd00:31:9::2' },
  },
} as const;

/** The address family of the HA links (HA1, its backup, the heartbeat backup on mgmt, HA2). */
export type LabHaFamily = 'ipv4' | 'ipv6';
export const LAB_HA_FAMILIES: readonly LabHaFamily[] = ['ipv4', 'ipv6'];

/** How the lab is built beyond its mode. */
export interface LabTopologyOptions {
  /** The HA links' addresses: LAB_ADDR.boxes (ipv4, the default) or LAB_ADDR6.ha (ipv6). */
  haFamily?: LabHaFamily;
  /**
   * The lan hosts learn their IPv6 default router from the pair's router advertisements
   * (accept_ra=2 on their device) instead of a static route via fe80::1.
   */
  ipv6Ra?: boolean;
}

/** A box's address on an HA link (or mgmt) in a family, without prefix length. */
export function haAddress(box: LabBox, link: 'ha1' | 'ha1b' | 'ha2' | 'mgmt', family: LabHaFamily = 'ipv4'): string {
  return family === 'ipv6' ? LAB_ADDR6.ha[box][link] : LAB_ADDR.boxes[box][link];
}

/** Device names inside a box's namespace, by link. */
export const BOX_DEVICE: Readonly<Record<LabLink, string>> = { lan: 'lan0', wan: 'wan0', ha1: 'ha1', ha1b: 'ha1b', ha2: 'ha2', mgmt: 'mgmt', ha3: 'ha3' };
/** The bridge port in N-sw that a box's traffic link plugs into. */
export const SW_PORT: Readonly<Record<LabBox, Record<'lan' | 'wan', string>>> = {
  fwa: { lan: 'a-lan', wan: 'a-wan' },
  fwb: { lan: 'b-lan', wan: 'b-wan' },
};
export const HOST_PORT: Readonly<Record<LabHost, { bridge: 'lan' | 'wan'; port: string }>> = {
  client: { bridge: 'lan', port: 'c-lan' },
  server: { bridge: 'wan', port: 's-wan' },
  client2: { bridge: 'lan', port: 'c2-lan' },
};

/**
 * A host's gateway. Active/active makes asymmetry the normal case: client goes out through device
 * 0 and client2 through device 1, and the server answers each through the other device.
 */
export function isHost(node: LabBox | LabHost): node is LabHost {
  return Object.hasOwn(HOST_PORT, node);
}

export function hostGateway(host: LabHost): string {
  if (host === 'client') return LAB_ADDR.floatingLan;
  if (host === 'client2') return LAB_ADDR.floatingLan1;
  return LAB_ADDR.floatingWan;
}

/**
 * A host's IPv6 default router: the floating link-local address of its side; client2's is device
 * 1's global floating address (an interface has one link-local floating address, device 0's),
 * unless it learns the router from the pair's RAs (ipv6Ra).
 */
export function hostGateway6(host: LabHost, ipv6Ra = false): string {
  // a host that learns its router from the RAs takes their source: the floating link-local address
  if (ipv6Ra && HOST_PORT[host].bridge === 'lan') return LAB_ADDR6.linkLocal;
  return host === 'client2' ? LAB_ADDR6.floatingLan1 : LAB_ADDR6.linkLocal;
}

/** Active/active: the server's routes back to each client, through the device the client does not use. */
export const AA_SERVER_ROUTES: readonly { to: string; via: string }[] = [
  { to: `${LAB_ADDR.client}/32`, via: LAB_ADDR.floatingWan1 },
  { to: `${LAB_ADDR.client2}/32`, via: LAB_ADDR.floatingWan },
];

/** Active/active: the same for IPv6. */
export const AA_SERVER_ROUTES6: readonly { to: string; via: string }[] = [
  { to: `${LAB_ADDR6.client}/128`, via: LAB_ADDR6.floatingWan1 },
  { to: `${LAB_ADDR6.client2}/128`, via: LAB_ADDR6.floatingWan },
];

/** Active/active: the HA3 cable's device on both boxes, and its MTU (a full frame plus the envelope). */
export const HA3_DEVICE = 'ha3';
export const HA3_MTU = 1600;
/** Device name of the host's only interface. */
export const HOST_DEVICE = 'eth0';

// A lab name becomes a namespace prefix and appears in file paths: letters, digits and dashes,
// starting with a letter. 20 characters keep `N-server` short enough to read in `ip netns list`.
const NAME_RE = /^[A-Za-z][A-Za-z0-9-]{0,19}$/;

export function validateLabName(name: string): void {
  if (typeof name !== 'string' || !NAME_RE.test(name) || name.endsWith('-')) {
    throw new Error(`bad lab name ${JSON.stringify(name)}: expected 1-20 letters, digits or dashes, starting with a letter and not ending with a dash`);
  }
}

export function nsName(name: string, role: LabRole): string {
  return `${name}-${role}`;
}

export function labNamespaces(name: string, mode?: LabMode): string[] {
  return (mode === undefined ? ANY_LAB_ROLES : rolesOf(mode)).map((role) => nsName(name, role));
}

/** Names from `ip netns list` (also stale entries left in /run/netns by a crash). */
export async function listNamespaces(): Promise<string[]> {
  const names = new Set<string>();
  const out = await trySh('ip', ['netns', 'list']);
  if (out) {
    for (const line of out.stdout.split('\n')) {
      const n = line.trim().split(/\s+/)[0];
      if (n) names.add(n);
    }
  }
  if (existsSync('/run/netns')) for (const n of readdirSync('/run/netns')) names.add(n);
  return [...names].sort();
}

/** Which of this lab's namespaces exist now. */
export async function existingLabNamespaces(name: string): Promise<string[]> {
  validateLabName(name);
  const all = new Set(await listNamespaces());
  return labNamespaces(name).filter((ns) => all.has(ns));
}

async function ip(ns: string, ...args: string[]): Promise<void> {
  await sh('ip', ['-n', ns, ...args]);
}

async function sysctl(ns: string, key: string, value: string): Promise<void> {
  await nsExec(ns, 'sysctl', ['-q', '-w', `${key}=${value}`]);
}

/** Checksum and segmentation offloads off: captured frames then carry real checksums and <= MTU sizes. */
async function offloadsOff(ns: string, dev: string): Promise<void> {
  await nsExec(ns, 'ethtool', ['-K', dev, 'rx', 'off', 'tx', 'off', 'tso', 'off', 'gso', 'off', 'gro', 'off']);
}

async function disableIpv6(ns: string, dev: string): Promise<void> {
  await sysctl(ns, `net.ipv6.conf.${dev}.disable_ipv6`, '1');
}

/**
 * The IPv6 sysctls of a box or host namespace, for `all` and `default` (so every device created
 * later is born with them): IPv6 on; no router advertisement learnt (accept_ra=0: a box must not
 * take routes from the pair's own RAs, a host gets accept_ra=2 on its device only with ipv6Ra);
 * the kernel does not forward (a box's dataplane does); no duplicate address detection (the lab's
 * addresses are unique, and a tentative address would delay the first packets); addresses kept
 * when a device is set down, as IPv4's are (setBoxDevice).
 */
export const NS_IPV6_SYSCTLS: readonly (readonly [string, string])[] = [
  ['disable_ipv6', '0'],
  ['accept_ra', '0'],
  ['forwarding', '0'],
  ['accept_dad', '0'],
  ['keep_addr_on_down', '1'],
];

async function ipv6On(ns: string): Promise<void> {
  // a kernel booted with ipv6.disable=1 has no net.ipv6 at all; one that refuses IPv6 in some other
  // way reads back 1: say so instead of building a lab without IPv6
  const noIpv6 = (why: string): Error => new Error(`lab: the kernel gives namespace ${ns} no IPv6 (${why}); the lab is dual-stack`);
  if (!existsSync('/proc/sys/net/ipv6')) throw noIpv6('no /proc/sys/net/ipv6: booted with ipv6.disable=1?');
  for (const [key, value] of NS_IPV6_SYSCTLS) {
    for (const scope of ['all', 'default']) await sysctl(ns, `net.ipv6.conf.${scope}.${key}`, value);
  }
  const got = (await nsExec(ns, 'sysctl', ['-n', 'net.ipv6.conf.all.disable_ipv6'])).stdout.trim();
  if (got !== '0') throw noIpv6(`net.ipv6.conf.all.disable_ipv6 reads ${got}`);
}

/**
 * One veth cable: `a` in nsA, `b` in nsB, created directly there, offloads off, up. IPv6 is on at
 * an end whose namespace has it on (boxes and hosts), except where `ipv6: false` turns it off
 * (the switch's ports have it off through the switch namespace's default).
 */
async function cable(nsA: string, a: string, nsB: string, b: string, opts: { ipv6?: boolean } = {}): Promise<void> {
  await sh('ip', ['link', 'add', a, 'netns', nsA, 'type', 'veth', 'peer', 'name', b, 'netns', nsB]);
  for (const [ns, dev] of [
    [nsA, a],
    [nsB, b],
  ] as const) {
    if (opts.ipv6 === false) await disableIpv6(ns, dev);
    await offloadsOff(ns, dev);
  }
}

/** A box's traffic cable: its device (lan0 or wan0) with its address, the other end a port of the bridge. */
async function boxTrafficCable(name: string, box: LabBox, link: 'lan' | 'wan'): Promise<void> {
  const sw = nsName(name, 'sw');
  const boxNs = nsName(name, box);
  const port = SW_PORT[box][link];
  const dev = BOX_DEVICE[link];
  await cable(boxNs, dev, sw, port);
  await ip(sw, 'link', 'set', port, 'master', link);
  await ip(sw, 'link', 'set', port, 'up');
  await ip(boxNs, 'addr', 'add', `${LAB_ADDR.boxes[box][link]}/${LAB_ADDR.prefixLength}`, 'dev', dev);
  await ip(boxNs, '-6', 'addr', 'add', `${LAB_ADDR6.boxes[box][link]}/${LAB_ADDR6.prefixLength}`, 'dev', dev, 'nodad');
  await ip(boxNs, 'link', 'set', dev, 'up');
}

/**
 * The box's own traffic device set administratively down or up, inside the box (an operator's
 * `ip link set lan0 down` on the box; setLink acts on the switch port, a pulled cable).
 */
export async function setBoxDevice(name: string, box: LabBox, link: 'lan' | 'wan', up: boolean): Promise<void> {
  validateLabName(name);
  const boxNs = nsName(name, box);
  await ip(boxNs, 'link', 'set', BOX_DEVICE[link], up ? 'up' : 'down');
  if (up) await waitOperUp(boxNs, BOX_DEVICE[link]);
}

/** The box's traffic device deleted (its bridge port goes with the veth). */
export async function deleteBoxDevice(name: string, box: LabBox, link: 'lan' | 'wan'): Promise<void> {
  validateLabName(name);
  await ip(nsName(name, box), 'link', 'del', BOX_DEVICE[link]);
}

/**
 * The box's traffic device created again under its name (after deleteBoxDevice: what a NIC reset
 * or a driver reload looks like, a new ifindex and a new MAC), with its address and bridge port as
 * the lab built them. Returns once it has carrier.
 */
export async function createBoxDevice(name: string, box: LabBox, link: 'lan' | 'wan'): Promise<void> {
  validateLabName(name);
  const boxNs = nsName(name, box);
  await boxTrafficCable(name, box, link);
  await waitOperUp(boxNs, BOX_DEVICE[link]);
}

/** deleteBoxDevice, then createBoxDevice. */
export async function recreateBoxDevice(name: string, box: LabBox, link: 'lan' | 'wan'): Promise<void> {
  await deleteBoxDevice(name, box, link);
  await createBoxDevice(name, box, link);
}

/**
 * Builds the lab's namespaces and cables. Refuses if any of them exists already (a previous run:
 * `tandem lab down` first). On any failure, removes what it made and rethrows.
 */
export async function buildTopology(name: string, mode: LabMode = 'active-passive', opts: LabTopologyOptions = {}): Promise<void> {
  validateLabName(name);
  const existing = await existingLabNamespaces(name);
  if (existing.length > 0) {
    throw new Error(`lab ${name} already exists (namespaces ${existing.join(', ')}): run \`tandem lab down --name ${name}\` first`);
  }
  try {
    await build(name, mode, opts);
  } catch (err) {
    await destroyTopology(name).catch(() => undefined);
    throw err;
  }
}

async function build(name: string, mode: LabMode, opts: LabTopologyOptions): Promise<void> {
  const ns = (role: LabRole): string => nsName(name, role);
  const haFamily = opts.haFamily ?? 'ipv4';
  for (const role of rolesOf(mode)) {
    await sh('ip', ['netns', 'add', ns(role)]);
    await ip(ns(role), 'link', 'set', 'lo', 'up');
    // before any device exists, so every new device is born with these: the switch has no IPv6
    // (it only bridges), boxes and hosts are dual-stack
    if (role === 'sw') {
      await sysctl(ns(role), 'net.ipv6.conf.all.disable_ipv6', '1');
      await sysctl(ns(role), 'net.ipv6.conf.default.disable_ipv6', '1');
    } else await ipv6On(ns(role));
  }
  for (const box of LAB_BOXES) {
    // the daemon's dataplane forwards; the kernel must not (DESIGN "The dataplane pipeline")
    await sysctl(ns(box), 'net.ipv4.ip_forward', '0');
  }

  // the switch: two bridges without STP or forward delay, so a port that comes up forwards at once
  const sw = ns('sw');
  // A switch forwards frames, it does not judge them: with br_netfilter loaded (Docker loads it)
  // the bridge would hand IPv4/IPv6/ARP frames to netfilter, which drops malformed headers before
  // the boxes could see (and count) them. Absent when br_netfilter is not loaded: nothing to do.
  for (const key of ['net.bridge.bridge-nf-call-iptables', 'net.bridge.bridge-nf-call-ip6tables', 'net.bridge.bridge-nf-call-arptables']) {
    await trySh('ip', ['netns', 'exec', sw, 'sysctl', '-q', '-w', `${key}=0`]);
  }
  for (const bridge of ['lan', 'wan']) {
    await ip(sw, 'link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0', 'mcast_snooping', '0');
    await disableIpv6(sw, bridge);
    await ip(sw, 'link', 'set', bridge, 'up');
  }

  // hosts
  for (const host of hostsOf(mode)) {
    const { bridge, port } = HOST_PORT[host];
    await cable(ns(host), HOST_DEVICE, sw, port);
    await ip(sw, 'link', 'set', port, 'master', bridge);
    await ip(sw, 'link', 'set', port, 'up');
    await ip(ns(host), 'addr', 'add', `${LAB_ADDR[host]}/${LAB_ADDR.prefixLength}`, 'dev', HOST_DEVICE);
    await ip(ns(host), '-6', 'addr', 'add', `${LAB_ADDR6[host]}/${LAB_ADDR6.prefixLength}`, 'dev', HOST_DEVICE, 'nodad');
    const learnsRouter = opts.ipv6Ra === true && bridge === 'lan';
    // the lan hosts take the router from the pair's RAs (2: even if forwarding were on)
    if (learnsRouter) await sysctl(ns(host), `net.ipv6.conf.${HOST_DEVICE}.accept_ra`, '2');
    await ip(ns(host), 'link', 'set', HOST_DEVICE, 'up');
    // the gateway is a floating address on the host's side: only a box serving it answers
    await ip(ns(host), 'route', 'add', 'default', 'via', hostGateway(host));
    if (!learnsRouter) await ip(ns(host), '-6', 'route', 'add', 'default', 'via', hostGateway6(host), 'dev', HOST_DEVICE);
  }
  if (mode === 'active-active') {
    for (const r of AA_SERVER_ROUTES) await ip(ns('server'), 'route', 'add', r.to, 'via', r.via);
    for (const r of AA_SERVER_ROUTES6) await ip(ns('server'), '-6', 'route', 'add', r.to, 'via', r.via, 'dev', HOST_DEVICE);
  }

  // boxes: traffic links into the bridges
  for (const box of LAB_BOXES) {
    for (const link of ['lan', 'wan'] as const) await boxTrafficCable(name, box, link);
  }

  // HA links and the management network: direct pairs between the boxes, addressed in one family
  // (IPv6 off on them over IPv4, as before the lab was dual-stack; IPv4 has no address over IPv6)
  for (const link of BOX_PAIR_LINKS) {
    const dev = BOX_DEVICE[link];
    await cable(ns('fwa'), dev, ns('fwb'), dev, { ipv6: haFamily === 'ipv6' });
    for (const box of LAB_BOXES) {
      if (haFamily === 'ipv6') await ip(ns(box), '-6', 'addr', 'add', `${haAddress(box, link, 'ipv6')}/${LAB_ADDR6.prefixLength}`, 'dev', dev, 'nodad');
      else await ip(ns(box), 'addr', 'add', `${haAddress(box, link)}/${LAB_ADDR.prefixLength}`, 'dev', dev);
      await ip(ns(box), 'link', 'set', dev, 'up');
    }
  }

  // active/active: HA3 is layer 2 only, a direct cable without addresses (no IPv6 either)
  if (mode === 'active-active') {
    await cable(ns('fwa'), HA3_DEVICE, ns('fwb'), HA3_DEVICE, { ipv6: false });
    for (const box of LAB_BOXES) {
      await ip(ns(box), 'link', 'set', HA3_DEVICE, 'mtu', String(HA3_MTU));
      await ip(ns(box), 'link', 'set', HA3_DEVICE, 'up');
    }
  }

  // A veth reports carrier through linkwatch up to a second after it is set up, and drops what it
  // is given until then: the first ARP of a host would vanish and cost it a one-second retry.
  await waitAllUp([...rolesOf(mode)].map((r) => ns(r)));
}

/** Waits until every veth and bridge in `namespaces` is operationally up (carrier). */
async function waitAllUp(namespaces: string[]): Promise<void> {
  const deadline = Date.now() + CARRIER_WAIT_MS;
  for (const n of namespaces) {
    for (;;) {
      const out = await trySh('ip', ['-n', n, '-j', 'link', 'show']);
      const links = out ? (JSON.parse(out.stdout) as Array<{ ifname: string; operstate?: string }>) : [];
      const down = links.filter((l) => l.ifname !== 'lo' && l.operstate !== 'UP');
      if (down.length === 0) break;
      if (Date.now() > deadline)
        throw new Error(`lab: ${n}: ${down.map((l) => `${l.ifname} ${l.operstate ?? '?'}`).join(', ')} not up after ${CARRIER_WAIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/**
 * Removes exactly this lab's namespaces (their veths go with them). Idempotent, and works on a
 * half-built or crashed lab. Processes still inside a namespace keep it alive after its name is
 * gone: stop the daemons first (labDown does).
 */
export async function destroyTopology(name: string): Promise<void> {
  validateLabName(name);
  const errors: string[] = [];
  for (const ns of await existingLabNamespaces(name)) {
    const res = await trySh('ip', ['netns', 'del', ns]);
    if (!res && existsSync(`/run/netns/${ns}`)) errors.push(ns);
  }
  if (errors.length > 0) throw new Error(`could not remove namespaces ${errors.join(', ')} of lab ${name}`);
}

/** Where a cable of `node` is pulled: the namespace and device whose admin state is set. */
export function linkEnd(name: string, node: LabBox | LabHost, link: LabLink): { ns: string; dev: string } {
  if (isHost(node)) {
    const expected = HOST_PORT[node].bridge;
    if (link !== expected) throw new Error(`the ${node} has only the ${expected} link, not ${link}`);
    return { ns: nsName(name, 'sw'), dev: HOST_PORT[node].port };
  }
  if (link === 'lan' || link === 'wan') return { ns: nsName(name, 'sw'), dev: SW_PORT[node][link] };
  return { ns: nsName(name, node), dev: BOX_DEVICE[link] };
}

/**
 * Plugs (up) or pulls (down) a cable. Traffic links: the bridge port in N-sw; HA links: the box's
 * own end of the pair. `all` is every link of the node.
 */
export async function setLink(name: string, node: LabBox | LabHost, link: LabLink | 'all', up: boolean): Promise<void> {
  validateLabName(name);
  const links: LabLink[] = link !== 'all' ? [link] : isHost(node) ? [HOST_PORT[node].bridge] : [...LAB_LINKS];
  const ends = links.map((l) => linkEnd(name, node, l));
  for (const { ns, dev } of ends) await ip(ns, 'link', 'set', dev, up ? 'up' : 'down');
  if (up) {
    // the kernel reports carrier through linkwatch, up to a second later: wait for it, so a caller
    // can send at once (a peer end that is itself down keeps it from coming up: give up quietly)
    const deadline = Date.now() + CARRIER_WAIT_MS;
    for (const { ns, dev } of ends) await waitOperUp(ns, dev, deadline);
  }
}

/**
 * Pulls (or plugs) the traffic cables of both boxes on one link at the same instant, as a dead
 * upstream switch would: one `ip -batch` in N-sw sets both bridge ports, microseconds apart.
 */
export async function setBothBoxesLink(name: string, link: 'lan' | 'wan', up: boolean): Promise<void> {
  validateLabName(name);
  const ns = nsName(name, 'sw');
  const dir = mkdtempSync(join(tmpdir(), 'tandem-batch-'));
  try {
    const file = join(dir, 'links.batch');
    writeFileSync(file, (['fwa', 'fwb'] as const).map((box) => `link set ${SW_PORT[box][link]} ${up ? 'up' : 'down'}\n`).join(''));
    await sh('ip', ['-n', ns, '-batch', file]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (up) {
    const deadline = Date.now() + CARRIER_WAIT_MS;
    for (const box of ['fwa', 'fwb'] as const) await waitOperUp(ns, SW_PORT[box][link], deadline);
  }
}

/** Waits until the device reports carrier (operstate UP), giving up quietly at the deadline. */
async function waitOperUp(ns: string, dev: string, deadline = Date.now() + CARRIER_WAIT_MS): Promise<void> {
  while ((await operState(ns, dev)) !== 'UP' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
}

/** How long setLink(up) waits for carrier. Linkwatch delays events by up to 1 s (HZ). */
const CARRIER_WAIT_MS = 3000;

/** The kernel's operstate of a device ("UP", "DOWN", "LOWERLAYERDOWN", ...), null if it is missing. */
export async function operState(ns: string, dev: string): Promise<string | null> {
  const out = await trySh('ip', ['-n', ns, '-j', 'link', 'show', 'dev', dev]);
  if (!out) return null;
  try {
    return (JSON.parse(out.stdout) as Array<{ operstate?: string }>)[0]?.operstate ?? null;
  } catch {
    return null;
  }
}

/** Cuts (or restores) every link of a box: traffic and HA. */
export async function isolateBox(name: string, box: LabBox, cut: boolean): Promise<void> {
  await setLink(name, box, 'all', !cut);
}

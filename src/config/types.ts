// The parsed, validated and defaulted configuration. src/config/schema.ts produces exactly
// these types (zod infers them); every other module imports them from here.

/** An IPv4 address in dotted-quad form, e.g. "10.0.1.2". */
export type Ipv4 = string;
/** An IPv4 prefix with length, e.g. "10.0.1.2/24" (host bits may be set: it is an interface address). */
export type Ipv4Cidr = string;
/** An IPv6 address with prefix length, e.g. "2001:db8:1::2/64". */
export type Ipv6Cidr = string;
/** An IPv4 or IPv6 address, e.g. "10.0.1.2" or "2001:db8::2". */
export type IpAddress = string;
/** An IPv4 or IPv6 address or network with prefix length, e.g. "10.0.1.2/24" or "fe80::1/64". */
export type IpCidr = string;
/** "host:port" for a TCP listener, e.g. "127.0.0.1:9480" or "[::1]:9480". */
export type ListenAddress = string;

export interface InterfaceConfig {
  /** Kernel device name on this box (<= 15 chars). */
  device: string;
  /**
   * The 802.1Q VLAN id (1-4094) when the interface is a tagged VLAN of `device` (a trunk); absent:
   * the device's untagged frames. Several interfaces may share a device, each with its own VLAN.
   */
  vlan?: number;
  /** This box's own address on the interface (kernel address), with prefix length. */
  address: Ipv4Cidr;
  /** This box's own global IPv6 address on the interface, with prefix length (not link-local). */
  address6?: Ipv6Cidr;
  /** TCP SYNs crossing the interface have their MSS option lowered to this (absent: untouched). */
  mssClamp?: number;
}

/** An HA link's two ends are of one family, IPv4 or IPv6 (checks.ts). */
export interface HaLinkConfig {
  local: IpAddress;
  peer: IpAddress;
  /** TCP port of the HA1 session (default 28769) or HA2 stream (default 28770). */
  port: number;
  /** UDP port of heartbeats on an HA1 link (default 28771). */
  heartbeatPort: number;
}

/** HA3 is layer 2 (its own ethertype), so a device is all it needs; its MTU is checked at start. */
export interface Ha3LinkConfig {
  device: string;
}

export interface HeartbeatBackupConfig {
  local: IpAddress;
  peer: IpAddress;
  /** UDP port of the heartbeats (default 28771, as on the HA1 links). */
  port: number;
}

/** Requests to the management API: a token bucket per client address and one for all (429 past it). */
export interface ApiRateLimitConfig {
  /** Sustained requests per second from one client address (default 100). */
  perClientPerS: number;
  /** Requests one client may send back to back after being idle (default 200). */
  perClientBurst: number;
  /** Sustained requests per second from all clients together (default 1000). */
  globalPerS: number;
  /** Requests all clients together may send back to back (default 2000). */
  globalBurst: number;
  /** Client addresses tracked at once; the least recently seen is forgotten past it (default 4096). */
  maxClients: number;
}

/** HTTPS for the management API (device.api.tls); the files are watched and reloaded on change. */
export interface ApiTlsConfig {
  /** PEM: the server's certificate, then any intermediates. */
  certFile: string;
  /** PEM: its private key; refused when group or others may read it (as the token file is). */
  keyFile: string;
  /** PEM: with it, mutual TLS: only clients with a certificate signed by this CA complete the handshake. */
  clientCaFile?: string;
}

export interface DeviceConfig {
  /** 0 or 1: the two members of the pair. */
  id: 0 | 1;
  name: string;
  /** 0-255, lower wins the election. */
  priority: number;
  /** Logical interface name (lan, wan, ...) -> this box's device and address. */
  interfaces: Record<string, InterfaceConfig>;
  ha: {
    ha1: HaLinkConfig;
    ha1Backup?: HaLinkConfig;
    /** Heartbeats only (no session), e.g. over the management network: split-brain protection. */
    heartbeatBackup?: HeartbeatBackupConfig;
    ha2?: HaLinkConfig;
    /** Active/active only: the kernel device of the HA3 link, which carries packets to the session's owner. */
    ha3?: Ha3LinkConfig;
    /** File holding the pre-shared key (>= 16 bytes after trimming). */
    keyFile: string;
  };
  api: { listen: ListenAddress; tokenFile: string; rateLimit: ApiRateLimitConfig; tls?: ApiTlsConfig };
  metrics: { listen: ListenAddress };
  stateDir: string;
  log: { level: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' };
  /** Frame I/O backend: `ring` (tandem's AF_PACKET TPACKET_V3 addon) or `pcap` (libpcap through cap). */
  dataplane: {
    io: DataplaneIoKind;
    ring: { version: 2 | 3; blockTimeoutMs: number; txThread: boolean };
    /** The rate limit of the ICMP errors and reject answers the box sends (per destination and for the box). */
    icmpErrors: IcmpErrorRateConfig;
  };
}

export interface IcmpErrorRateConfig {
  /** Errors per second one destination (the offending packet's source) may get. */
  perSourcePerS: number;
  /** Errors one destination may get at once. */
  perSourceBurst: number;
  /** Errors per second for the whole box. */
  globalPerS: number;
  /** Errors the box may send at once. */
  globalBurst: number;
}

export type DataplaneIoKind = 'ring' | 'pcap';

export type TimerProfile = 'recommended' | 'aggressive';

/** Concrete timers after the profile is applied and overrides merged. */
export interface Timers {
  profile: TimerProfile;
  heartbeatIntervalMs: number;
  /** Heartbeats missed on every HA1 link before the peer is declared dead. */
  heartbeatMissed: number;
  helloIntervalMs: number;
  /** Wait after the peer is declared dead (by heartbeat loss) before promotion. */
  promotionHoldMs: number;
  /** Stable peer contact needed before a better-priority device preempts. */
  preemptHoldMs: number;
  /** Transitions inside the preempt hold window beyond which preemption is suspended. */
  flapMax: number;
  /** How long a device in `initial` waits to hear a peer before electing itself. */
  initialWaitMs: number;
  /** How long a failed link or path monitor is tolerated before it becomes a fault. */
  monitorFailHoldUpMs: number;
  /** Added to monitorFailHoldUpMs on the active only, so a shared outage faults the passive first. */
  additionalActiveHoldUpMs: number;
}

/**
 * Who answers for a floating IP. Active/passive: the active, whatever the owner (only 0, the
 * default, is accepted there). Active/active: device 0 or 1 (the survivor while it is down), the
 * active-primary, or both at once by ARP load sharing (`shared`).
 */
export type FloatingOwner = 0 | 1 | 'primary' | 'shared';

export interface FloatingIpConfig {
  /** Logical interface name. */
  interface: string;
  /**
   * IPv4, or IPv6: inside the interface's address6 prefix, or link-local (fe80::/10; at most one
   * per interface, the source of its router advertisements).
   */
  address: IpCidr;
  owner: FloatingOwner;
}

/** Active/active: which device processes a session's packets (the other forwards them over HA3). */
export type SessionOwnerMode = 'first-packet' | 'primary';
/** Active/active: which device sets a new session up (policy lookup, NAT allocation). */
export type SessionSetupMode = 'first-packet' | 'ip-modulo' | 'ip-hash' | 'primary';

/**
 * Active/active ARP load sharing (PAN-OS's): a floating IP with `owner: shared` is answered by both
 * boxes, each for the requesters whose address the method gives to its device, with its device
 * class's MAC. ip-modulo: even requesters device 0, odd device 1; ip-hash: a seeded hash.
 */
export interface ArpLoadSharingConfig {
  method: 'ip-modulo' | 'ip-hash';
  /** ip-hash only (both boxes share it, with the rest of the shared half): 0 with ip-modulo. */
  seed: number;
}

export interface ActiveActiveConfig {
  sessionOwner: SessionOwnerMode;
  sessionSetup: SessionSetupMode;
  /** ip-hash: the addresses hashed, and the seed both boxes share. */
  ipHash: { key: 'source' | 'source-and-destination'; seed: number };
  /** `owner: shared` addresses: which device's MAC answers each requester's ARP. */
  arpLoadSharing: ArpLoadSharingConfig;
  /**
   * A new session's first packet waits until the peer holds the session (acknowledged over HA3),
   * at most this long, so a reply through the other box finds it; 0 sends at once (pfsync's defer).
   */
  deferMs: number;
}

/** Active/active: the device whose sessions a source NAT rule applies to. */
export type NatBinding = 0 | 1 | 'primary';

/** `to` and `via` are of one family; an IPv6 `via` may be link-local (the interface is named). */
export interface RouteConfig {
  to: IpCidr;
  via: IpAddress;
  interface: string;
}

export type Service = string; // "tcp/80", "udp/1000-2000", "icmp", "any"

/** What a policy or NAT rule matches: zones (from, to), addresses and services. */
export interface RuleMatch {
  name: string;
  from: string[];
  to: string[];
  /** Prefixes of either family (a bare address became /32 or /128); NAT rules hold IPv4 ones only. */
  source: IpCidr[];
  destination: IpCidr[];
  service: Service[];
}

export interface PolicyRule extends RuleMatch {
  action: 'allow' | 'deny' | 'reject';
}

export interface NatRule extends RuleMatch {
  translate: {
    /** 'interface-floating': the egress interface's floating IP; or a fixed address. */
    source?: 'interface-floating' | Ipv4;
    destination?: { address: Ipv4; port?: number };
    /** Active/active (required there for source NAT): the device whose new sessions use this rule. */
    bind?: NatBinding;
  };
}

export type FailureCondition = 'any' | 'all';

/** Interfaces watched together (carrier and admin state, from the kernel). */
export interface LinkGroupConfig {
  name: string;
  /** Logical interface names. */
  interfaces: string[];
  /** The group fails when any (or all) of its interfaces are down. */
  failureCondition: FailureCondition;
}

export interface MonitorLinkConfig {
  /** HA level: the box is non-functional when any (or all) groups failed. */
  failureCondition: FailureCondition;
  groups: LinkGroupConfig[];
}

export interface PathGroupConfig {
  name: string;
  targets: IpAddress[];
  intervalMs: number;
  /** Consecutive unanswered echoes before a target is down. */
  failures: number;
  /** The group fails when any (or all) of its targets are down. */
  failureCondition: FailureCondition;
}

export interface SharedConfig {
  ha: {
    mode: 'active-passive' | 'active-active';
    activeActive: ActiveActiveConfig;
    /** Group id 1-255: part of the virtual MAC, and both boxes must agree on it. */
    groupId: number;
    timers: Timers;
    preempt: { enabled: boolean; holdMs: number };
    garp: { count: number; intervalMs: number; /** 0 = off */ periodicS: number };
    virtualMac: boolean;
    /** HA1 and HA2 messages: HMAC-authenticated ('none') or AES-256-GCM encrypted (docs/security.md). */
    encryption: 'none' | 'aes-256-gcm';
    linkMonitoring?: MonitorLinkConfig;
    pathMonitoring?: { failureCondition: FailureCondition; groups: PathGroupConfig[] };
  };
  /** Zone name -> logical interface names. */
  zones: Record<string, string[]>;
  floatingIps: FloatingIpConfig[];
  routes: RouteConfig[];
  policy: { default: 'allow' | 'deny'; rules: PolicyRule[] };
  nat: NatRule[];
  /** Per interface: router advertisements, sent by the active from the link-local floating address. */
  routerAdvertisements: RouterAdvertisementConfig[];
  sessions: {
    max: number;
    tcpEstablishedS: number;
    tcpTransitoryS: number;
    udpS: number;
    icmpS: number;
    /**
     * TCP sequence and window checks (src/dataplane/tcp-window.ts): `strict` drops a segment or
     * reset outside the window; `loose` drops only resets outside it and passes the rest
     * (counted); `off` follows the flags alone. Windows are tracked in every mode.
     */
    tcpWindowCheck: TcpWindowCheck;
  };
}

export type TcpWindowCheck = 'strict' | 'loose' | 'off';

/** A Prefix Information option (RFC 4861 4.6.2). */
export interface RaPrefixConfig {
  /** An IPv6 network, e.g. "2001:db8:1::/64" (/64 when autonomous: SLAAC needs it). */
  prefix: IpCidr;
  /** L flag: hosts may take the prefix as on-link. */
  onLink: boolean;
  /** A flag: hosts may form addresses in it (SLAAC). */
  autonomous: boolean;
  /** Valid lifetime in seconds (0xffffffff: infinity). */
  validS: number;
  /** Preferred lifetime in seconds, at most validS. */
  preferredS: number;
}

/**
 * Router advertisements on one interface (RFC 4861 6.2.1), sent by the active only, from the
 * interface's link-local floating address and virtual MAC: hosts' default router is the pair.
 */
export interface RouterAdvertisementConfig {
  /** Logical interface name; it needs a link-local floating address. */
  interface: string;
  prefixes: RaPrefixConfig[];
  /** Unsolicited RAs go out at a random interval in [min, max] seconds. */
  intervalS: { min: number; max: number };
  /** Router lifetime in seconds: 0 (not a default router) or max..9000. */
  routerLifetimeS: number;
  /** Cur Hop Limit for hosts (0: unspecified). */
  hopLimit: number;
  /** MTU option (absent: none sent). */
  mtu?: number;
  /** M flag: addresses by DHCPv6. */
  managed: boolean;
  /** O flag: other configuration by DHCPv6. */
  other: boolean;
}

export interface TandemConfig {
  device: DeviceConfig;
  shared: SharedConfig;
}

/** One problem found in a config file. */
export interface ConfigIssue {
  /** Key path, e.g. "shared.ha.timers.heartbeatIntervalMs" or "device.interfaces.lan.address". */
  path: string;
  /** The offending value (undefined when a key is missing). */
  value: unknown;
  /** What was expected, in words: "an integer from 0 to 255". */
  expected: string;
}

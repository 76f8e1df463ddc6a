// Typed encode/decode of the HA1 Envelope (proto/ha1.proto) into our own plain types: numbers,
// never Long; HA states as the election's string union; the oneof body as a discriminated union.
// The generated code (src/wire/gen/) only moves bytes; every range and enum check lives here,
// so a message that decodes is a message the rest of tandem can trust structurally.
// Authentication is not done here: src/wire/auth.ts checks the MAC before calling decode.
import { tandem } from './gen/ha1.js';
import type { HaState } from './ha-state.js';
import { WireError } from './errors.js';
import {
  UINT32_MAX,
  UINT64_MAX_SAFE,
  checkString,
  checkUint,
  decodeOrMalformed,
  headerFromWire,
  headerToWire,
  stringFromWire,
  uint64FromWire,
  uintFromWire,
  writerBytes,
} from './numbers.js';

// Bounds on the HA1 strings (characters): they are logged and shown in status and on the status
// page, and without them only the 4 MiB session frame limited what a peer could put there.
/** Box names, who committed a config. */
export const NAME_MAX = 256;
/** State, command and goodbye reasons ("degraded: " and the faults), a kept-aside config's path. */
export const REASON_MAX = 1024;
/** Software version, HA mode. */
export const LABEL_MAX = 64;
/** Config hashes (sha256 hex is 64). */
export const HASH_MAX = 128;
/** A refused config push's error: every issue of the validation. */
export const ERROR_MAX = 16_384;

/** Our own text cut to a wire bound (the encoder refuses anything longer). */
function checkHealthyGroups(groups: readonly string[]): string[] {
  if (groups.length > HEALTHY_GROUPS_MAX)
    throw new WireError('invalid-message', `heartbeat.healthyGroups has ${groups.length} entries (at most ${HEALTHY_GROUPS_MAX})`, {});
  return groups.map((g) => checkString(g, 'heartbeat.healthyGroups[]', HEALTHY_GROUP_CHARS_MAX));
}

function healthyGroupsFromWire(groups: readonly string[]): string[] {
  if (groups.length > HEALTHY_GROUPS_MAX)
    throw new WireError('malformed', `heartbeat.healthyGroups has ${groups.length} entries (at most ${HEALTHY_GROUPS_MAX})`, {});
  return groups.map((g) => stringFromWire(g, 'heartbeat.healthyGroups[]', HEALTHY_GROUP_CHARS_MAX));
}

export function clipString(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

const pb = tandem.ha1;

export interface Heartbeat {
  state: HaState;
  /** 0-255, lower wins (DESIGN.md "The pair"). */
  priority: number;
  preempt: boolean;
  /** Sender's monotonic clock when sent (ns). */
  sentNs: number;
  /** The last peer heartbeat's sentNs (0: none yet), and how long it was held before this echo. */
  echoNs: number;
  echoDelayNs: number;
  /** Link this was sent on: 0 HA1 primary, 1 HA1 backup, 2 heartbeat backup (management). */
  link: number;
  /** The sender must not win a preemption yet (initial wait, bulk sync pending). */
  tentative: boolean;
  /** The sender's session table may lack the pair's sessions (proto/ha1.proto). Absent: false. */
  incomplete?: boolean;
  /** The sender's monitor groups it sees healthy, as fault reasons (proto/ha1.proto). Absent: none. */
  healthyGroups?: string[];
}

/** Bounds of Heartbeat.healthyGroups: a heartbeat must stay one small datagram. */
export const HEALTHY_GROUPS_MAX = 32;
export const HEALTHY_GROUP_CHARS_MAX = 80;

export interface Hello {
  name: string;
  priority: number;
  preempt: boolean;
  state: HaState;
  stateReason: string;
  softwareVersion: string;
  groupId: number;
  mode: string;
  heartbeatIntervalMs: number;
  heartbeatMissed: number;
  configVersion: number;
  configHash: string;
  uptimeMs: number;
}

export interface StateUpdate {
  state: HaState;
  reason: string;
}

export type CommandType =
  /** The active asks the passive to take over. */
  | 'take-over'
  /** The passive acknowledges it is taking over. */
  | 'take-over-ack';

export interface Command {
  type: CommandType;
  reason: string;
  id: number;
}

export interface Goodbye {
  reason: string;
}

/** A shared config pushed to apply (requestId 0) or sent as a copy for display (see ha1.proto). */
export interface ConfigPush {
  version: number;
  hash: string;
  sharedJson: string;
  lineage: string[];
  committedAtMs: number;
  committedBy: string;
  requestId: number;
}

export interface ConfigAck {
  version: number;
  hash: string;
  applied: boolean;
  error: string;
  keptAside: string;
}

export interface ConfigRequest {
  requestId: number;
}

export type EnvelopeBody =
  | { kind: 'heartbeat'; heartbeat: Heartbeat }
  | { kind: 'hello'; hello: Hello }
  | { kind: 'stateUpdate'; stateUpdate: StateUpdate }
  | { kind: 'command'; command: Command }
  | { kind: 'goodbye'; goodbye: Goodbye }
  | { kind: 'configPush'; configPush: ConfigPush }
  | { kind: 'configAck'; configAck: ConfigAck }
  | { kind: 'configRequest'; configRequest: ConfigRequest };

export type BodyKind = EnvelopeBody['kind'];

/** Every body kind, e.g. for metric labels of messages by kind. */
export const BODY_KINDS: readonly BodyKind[] = ['heartbeat', 'hello', 'stateUpdate', 'command', 'goodbye', 'configPush', 'configAck', 'configRequest'];

/** Hashes carried in a ConfigPush lineage: enough history to recognise any realistic ancestor. */
export const CONFIG_LINEAGE_MAX = 64;

export interface Envelope {
  /** The sender's device id (0 or 1; the receiver checks it). */
  sender: number;
  /** The sender's process epoch (wall-clock ms at its start). */
  epoch: number;
  /** Strictly increasing per (sender, epoch, channel). */
  seq: number;
  groupId: number;
  body: EnvelopeBody;
}

// ---- enums ----

// A Record over the union, so that a state added to the election's HaState does not compile
// until it has a wire number here. The proto's active-active states (tentative = 6,
// active-primary = 7, active-secondary = 8) are not in the union yet: receiving one is
// 'malformed' until the election learns them.
const HA_STATE_TO_WIRE: Record<HaState, number> = {
  initial: pb.HaState.HA_STATE_INITIAL,
  passive: pb.HaState.HA_STATE_PASSIVE,
  active: pb.HaState.HA_STATE_ACTIVE,
  suspended: pb.HaState.HA_STATE_SUSPENDED,
  'non-functional': pb.HaState.HA_STATE_NON_FUNCTIONAL,
};
const HA_STATE_FROM_WIRE = new Map<number, HaState>((Object.entries(HA_STATE_TO_WIRE) as [HaState, number][]).map(([state, wire]) => [wire, state]));

export function haStateToWire(state: HaState): number {
  const wire = HA_STATE_TO_WIRE[state];
  if (wire === undefined) throw new WireError('invalid-message', `unknown HA state ${JSON.stringify(state)}`, { field: 'state', value: state });
  return wire;
}

/** The state for a wire enum value; UNSPECIFIED (0) and unknown values are 'malformed'. */
export function haStateFromWire(value: number): HaState {
  const state = HA_STATE_FROM_WIRE.get(value);
  if (state === undefined) throw new WireError('malformed', `unknown HaState ${value}`, { field: 'state', value });
  return state;
}

const COMMAND_TO_WIRE: Record<CommandType, number> = {
  'take-over': pb.CommandType.COMMAND_TAKE_OVER,
  'take-over-ack': pb.CommandType.COMMAND_TAKE_OVER_ACK,
};
const COMMAND_FROM_WIRE = new Map<number, CommandType>((Object.entries(COMMAND_TO_WIRE) as [CommandType, number][]).map(([type, wire]) => [wire, type]));

// ---- numbers ----

/** Priorities are 0-255 (DESIGN.md "The pair"). */
const PRIORITY_MAX = 255;
/** Heartbeat.link: 0 HA1 primary, 1 HA1 backup, 2 heartbeat backup (proto/ha1.proto). */
const LINK_MAX = 2;
function enumFromWire(value: number | null | undefined, field: string): HaState {
  try {
    return haStateFromWire(value ?? 0);
  } catch (err) {
    if (err instanceof WireError) throw new WireError('malformed', `${field}: ${err.message}`, { field, value: value ?? 0 });
    throw err;
  }
}

// ---- encode ----

/** Encodes an Envelope; throws WireError('invalid-message') for values the wire cannot carry. */
export function encodeEnvelope(envelope: Envelope): Buffer {
  // the header is checked first, then the body
  const msg: tandem.ha1.Envelope.$Properties = { ...headerToWire(envelope), ...bodyToWire(envelope.body) };
  return writerBytes(pb.Envelope.encode(msg).finish());
}

/** The body as the oneof field of its kind. */
function bodyToWire(body: EnvelopeBody): tandem.ha1.Envelope.$Properties {
  switch (body.kind) {
    case 'heartbeat':
      return { heartbeat: heartbeatToWire(body.heartbeat) };
    case 'hello':
      return { hello: helloToWire(body.hello) };
    case 'stateUpdate':
      return {
        stateUpdate: {
          state: haStateToWire(body.stateUpdate.state),
          reason: checkString(body.stateUpdate.reason, 'stateUpdate.reason', REASON_MAX),
        },
      };
    case 'command':
      return { command: commandToWire(body.command) };
    case 'goodbye':
      return { goodbye: { reason: checkString(body.goodbye.reason, 'goodbye.reason', REASON_MAX) } };
    case 'configPush':
      return { configPush: configPushToWire(body.configPush) };
    case 'configAck':
      return { configAck: configAckToWire(body.configAck) };
    case 'configRequest':
      return { configRequest: { requestId: checkUint(body.configRequest.requestId, 'configRequest.requestId', UINT64_MAX_SAFE) } };
    default: {
      const never: never = body;
      throw new WireError('invalid-message', 'unknown body kind', { kind: (never as { kind?: unknown }).kind });
    }
  }
}

function heartbeatToWire(h: Heartbeat): tandem.ha1.Heartbeat.$Properties {
  return {
    state: haStateToWire(h.state),
    priority: checkUint(h.priority, 'heartbeat.priority', PRIORITY_MAX),
    preempt: h.preempt === true,
    sentNs: checkUint(h.sentNs, 'heartbeat.sentNs', UINT64_MAX_SAFE),
    echoNs: checkUint(h.echoNs, 'heartbeat.echoNs', UINT64_MAX_SAFE),
    echoDelayNs: checkUint(h.echoDelayNs, 'heartbeat.echoDelayNs', UINT64_MAX_SAFE),
    link: checkUint(h.link, 'heartbeat.link', LINK_MAX),
    tentative: h.tentative === true,
    incomplete: h.incomplete === true,
    healthyGroups: checkHealthyGroups(h.healthyGroups ?? []),
  };
}

function helloToWire(h: Hello): tandem.ha1.Hello.$Properties {
  return {
    name: checkString(h.name, 'hello.name', NAME_MAX),
    priority: checkUint(h.priority, 'hello.priority', PRIORITY_MAX),
    preempt: h.preempt === true,
    state: haStateToWire(h.state),
    stateReason: checkString(h.stateReason, 'hello.stateReason', REASON_MAX),
    softwareVersion: checkString(h.softwareVersion, 'hello.softwareVersion', LABEL_MAX),
    groupId: checkUint(h.groupId, 'hello.groupId', UINT32_MAX),
    mode: checkString(h.mode, 'hello.mode', LABEL_MAX),
    heartbeatIntervalMs: checkUint(h.heartbeatIntervalMs, 'hello.heartbeatIntervalMs', UINT32_MAX),
    heartbeatMissed: checkUint(h.heartbeatMissed, 'hello.heartbeatMissed', UINT32_MAX),
    configVersion: checkUint(h.configVersion, 'hello.configVersion', UINT64_MAX_SAFE),
    configHash: checkString(h.configHash, 'hello.configHash', HASH_MAX),
    uptimeMs: checkUint(h.uptimeMs, 'hello.uptimeMs', UINT64_MAX_SAFE),
  };
}

function commandToWire(c: Command): tandem.ha1.Command.$Properties {
  const type = COMMAND_TO_WIRE[c.type];
  if (type === undefined) throw new WireError('invalid-message', `unknown command type ${JSON.stringify(c.type)}`, { field: 'command.type' });
  return {
    type,
    reason: checkString(c.reason, 'command.reason', REASON_MAX),
    id: checkUint(c.id, 'command.id', UINT64_MAX_SAFE),
  };
}

function configPushToWire(c: ConfigPush): tandem.ha1.ConfigPush.$Properties {
  if (!Array.isArray(c.lineage) || c.lineage.length > CONFIG_LINEAGE_MAX)
    throw new WireError('invalid-message', `configPush.lineage must be a list of at most ${CONFIG_LINEAGE_MAX} hashes`, { field: 'configPush.lineage' });
  return {
    version: checkUint(c.version, 'configPush.version', UINT64_MAX_SAFE),
    hash: checkString(c.hash, 'configPush.hash', HASH_MAX),
    sharedJson: checkString(c.sharedJson, 'configPush.sharedJson'),
    lineage: c.lineage.map((h, i) => checkString(h, `configPush.lineage[${i}]`, HASH_MAX)),
    committedAtMs: checkUint(c.committedAtMs, 'configPush.committedAtMs', UINT64_MAX_SAFE),
    committedBy: checkString(c.committedBy, 'configPush.committedBy', NAME_MAX),
    requestId: checkUint(c.requestId, 'configPush.requestId', UINT64_MAX_SAFE),
  };
}

function configAckToWire(a: ConfigAck): tandem.ha1.ConfigAck.$Properties {
  return {
    version: checkUint(a.version, 'configAck.version', UINT64_MAX_SAFE),
    hash: checkString(a.hash, 'configAck.hash', HASH_MAX),
    applied: a.applied === true,
    error: checkString(a.error, 'configAck.error', ERROR_MAX),
    keptAside: checkString(a.keptAside, 'configAck.keptAside', REASON_MAX),
  };
}

// ---- decode ----

/**
 * Decodes an Envelope. Throws WireError('malformed') for anything that is not a complete,
 * in-range Envelope with a body of a known kind. Unknown fields are ignored (a newer peer may
 * add optional fields); an unknown body kind is malformed (we cannot act on it).
 */
export function decodeEnvelope(bytes: Uint8Array): Envelope {
  const raw = decodeOrMalformed('envelope', bytes, (b) => pb.Envelope.decode(b));
  // the header is checked first, then the body
  const header = headerFromWire(raw);
  return { ...header, body: bodyFromWire(raw, bytes) };
}

function bodyFromWire(raw: tandem.ha1.Envelope.$Shape, bytes: Uint8Array): EnvelopeBody {
  switch (raw.body) {
    case 'heartbeat':
      return { kind: 'heartbeat', heartbeat: heartbeatFromWire(raw.heartbeat) };
    case 'hello':
      return { kind: 'hello', hello: helloFromWire(raw.hello) };
    case 'stateUpdate': {
      const s = raw.stateUpdate;
      return {
        kind: 'stateUpdate',
        stateUpdate: { state: enumFromWire(s.state, 'stateUpdate.state'), reason: stringFromWire(s.reason, 'stateUpdate.reason', REASON_MAX) },
      };
    }
    case 'command':
      return { kind: 'command', command: commandFromWire(raw.command) };
    case 'goodbye':
      return { kind: 'goodbye', goodbye: { reason: stringFromWire(raw.goodbye.reason, 'goodbye.reason', REASON_MAX) } };
    case 'configPush':
      return { kind: 'configPush', configPush: configPushFromWire(raw.configPush) };
    case 'configAck':
      return { kind: 'configAck', configAck: configAckFromWire(raw.configAck) };
    case 'configRequest':
      return { kind: 'configRequest', configRequest: { requestId: uint64FromWire(raw.configRequest.requestId, 'configRequest.requestId') } };
    default:
      // No body at all, or (from a newer peer) a body field this build does not know.
      throw new WireError('malformed', 'envelope without a known body', { bytes: bytes.length });
  }
}

function heartbeatFromWire(h: tandem.ha1.Heartbeat.$Shape): Heartbeat {
  return {
    state: enumFromWire(h.state, 'heartbeat.state'),
    priority: uintFromWire(h.priority, 'heartbeat.priority', PRIORITY_MAX),
    preempt: h.preempt === true,
    sentNs: uint64FromWire(h.sentNs, 'heartbeat.sentNs'),
    echoNs: uint64FromWire(h.echoNs, 'heartbeat.echoNs'),
    echoDelayNs: uint64FromWire(h.echoDelayNs, 'heartbeat.echoDelayNs'),
    link: uintFromWire(h.link, 'heartbeat.link', LINK_MAX),
    tentative: h.tentative === true,
    ...(h.incomplete === true ? { incomplete: true } : {}),
    ...(h.healthyGroups && h.healthyGroups.length > 0 ? { healthyGroups: healthyGroupsFromWire(h.healthyGroups) } : {}),
  };
}

function helloFromWire(h: tandem.ha1.Hello.$Shape): Hello {
  return {
    name: stringFromWire(h.name, 'hello.name', NAME_MAX),
    priority: uintFromWire(h.priority, 'hello.priority', PRIORITY_MAX),
    preempt: h.preempt === true,
    state: enumFromWire(h.state, 'hello.state'),
    stateReason: stringFromWire(h.stateReason, 'hello.stateReason', REASON_MAX),
    softwareVersion: stringFromWire(h.softwareVersion, 'hello.softwareVersion', LABEL_MAX),
    groupId: uintFromWire(h.groupId, 'hello.groupId'),
    mode: stringFromWire(h.mode, 'hello.mode', LABEL_MAX),
    heartbeatIntervalMs: uintFromWire(h.heartbeatIntervalMs, 'hello.heartbeatIntervalMs'),
    heartbeatMissed: uintFromWire(h.heartbeatMissed, 'hello.heartbeatMissed'),
    configVersion: uint64FromWire(h.configVersion, 'hello.configVersion'),
    configHash: stringFromWire(h.configHash, 'hello.configHash', HASH_MAX),
    uptimeMs: uint64FromWire(h.uptimeMs, 'hello.uptimeMs'),
  };
}

function commandFromWire(c: tandem.ha1.Command.$Shape): Command {
  const type = COMMAND_FROM_WIRE.get(c.type ?? 0);
  if (type === undefined) throw new WireError('malformed', `unknown CommandType ${c.type ?? 0}`, { field: 'command.type', value: c.type ?? 0 });
  return { type, reason: stringFromWire(c.reason, 'command.reason', REASON_MAX), id: uint64FromWire(c.id, 'command.id') };
}

function configPushFromWire(c: tandem.ha1.ConfigPush.$Shape): ConfigPush {
  const lineage = c.lineage ?? [];
  if (lineage.length > CONFIG_LINEAGE_MAX)
    throw new WireError('malformed', `configPush.lineage has ${lineage.length} hashes (at most ${CONFIG_LINEAGE_MAX})`, { field: 'configPush.lineage' });
  return {
    version: uint64FromWire(c.version, 'configPush.version'),
    hash: stringFromWire(c.hash, 'configPush.hash', HASH_MAX),
    sharedJson: c.sharedJson ?? '',
    lineage: lineage.map((x, i) => stringFromWire(x, `configPush.lineage[${i}]`, HASH_MAX)),
    committedAtMs: uint64FromWire(c.committedAtMs, 'configPush.committedAtMs'),
    committedBy: stringFromWire(c.committedBy, 'configPush.committedBy', NAME_MAX),
    requestId: uint64FromWire(c.requestId, 'configPush.requestId'),
  };
}

function configAckFromWire(a: tandem.ha1.ConfigAck.$Shape): ConfigAck {
  return {
    version: uint64FromWire(a.version, 'configAck.version'),
    hash: stringFromWire(a.hash, 'configAck.hash', HASH_MAX),
    applied: a.applied === true,
    error: stringFromWire(a.error, 'configAck.error', ERROR_MAX),
    keptAside: stringFromWire(a.keptAside, 'configAck.keptAside', REASON_MAX),
  };
}

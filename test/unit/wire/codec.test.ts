import { describe, expect, it } from 'vitest';
import {
  BODY_KINDS,
  CONFIG_LINEAGE_MAX,
  HEALTHY_GROUPS_MAX,
  HEALTHY_GROUP_CHARS_MAX,
  NAME_MAX,
  REASON_MAX,
  decodeEnvelope,
  encodeEnvelope,
  haStateFromWire,
  haStateToWire,
  type Envelope,
  type EnvelopeBody,
  type Heartbeat,
  type Hello,
} from '../../../src/wire/codec.js';
import { WireError } from '../../../src/wire/errors.js';
import { HA_STATES, type HaState } from '../../../src/control/election/types.js';
import { bytes, lfield, sfield, vfield } from './proto-ref.js';
import { tandem } from '../../../generated/ha1.js';

const tandemHa1 = tandem.ha1;

const MAX_U32 = 0xffff_ffff;
const MAX_SAFE = Number.MAX_SAFE_INTEGER;

function env(body: EnvelopeBody, over: Partial<Omit<Envelope, 'body'>> = {}): Envelope {
  return { sender: 1, epoch: 1_700_000_000_000, seq: 42, groupId: 7, body, ...over };
}

function expectWireError(fn: () => unknown, code: WireError['code']): WireError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    expect((err as WireError).code).toBe(code);
    return err as WireError;
  }
  throw new Error(`expected WireError ${code}, nothing was thrown`);
}

const hbZero: Heartbeat = { state: 'initial', priority: 0, preempt: false, sentNs: 0, echoNs: 0, echoDelayNs: 0, link: 0 };
const heartbeatMin: EnvelopeBody = { kind: 'heartbeat', heartbeat: hbZero };
const heartbeatMax: EnvelopeBody = {
  kind: 'heartbeat',
  heartbeat: {
    state: 'non-functional',
    priority: 255,
    preempt: true,
    sentNs: MAX_SAFE,
    echoNs: MAX_SAFE,
    echoDelayNs: MAX_SAFE,
    link: 1,
    healthyGroups: Array.from({ length: HEALTHY_GROUPS_MAX }, (_, i) => `path-monitor:g${i}`.padEnd(HEALTHY_GROUP_CHARS_MAX, 'x')),
  },
};
const helloZero: Hello = {
  name: '',
  priority: 0,
  preempt: false,
  state: 'passive',
  stateReason: '',
  softwareVersion: '',
  groupId: 0,
  mode: '',
  heartbeatIntervalMs: 0,
  heartbeatMissed: 0,
  configVersion: 0,
  configHash: '',
  uptimeMs: 0,
};
const helloMin: EnvelopeBody = { kind: 'hello', hello: helloZero };
const helloMax: EnvelopeBody = {
  kind: 'hello',
  hello: {
    name: 'fw-a ünïcødé ✓',
    priority: 255,
    preempt: true,
    state: 'active',
    stateReason: 'election-won',
    softwareVersion: '0.1.0',
    groupId: MAX_U32,
    mode: 'active-passive',
    heartbeatIntervalMs: MAX_U32,
    heartbeatMissed: MAX_U32,
    configVersion: MAX_SAFE,
    configHash: 'sha256:' + 'ab'.repeat(32),
    uptimeMs: MAX_SAFE,
  },
};

const cases: [string, EnvelopeBody, Partial<Omit<Envelope, 'body'>>][] = [
  ['heartbeat, zero values', heartbeatMin, { sender: 0, epoch: 0, seq: 0, groupId: 0 }],
  ['heartbeat, max values', heartbeatMax, { sender: MAX_U32, epoch: MAX_SAFE, seq: MAX_SAFE, groupId: MAX_U32 }],
  ['hello, zero values and empty strings', helloMin, {}],
  ['hello, max values and unicode', helloMax, {}],
  ['stateUpdate, empty reason', { kind: 'stateUpdate', stateUpdate: { state: 'suspended', reason: '' } }, {}],
  ['stateUpdate, longest reason', { kind: 'stateUpdate', stateUpdate: { state: 'active', reason: 'x'.repeat(REASON_MAX) } }, {}],
  ['command take-over, id 0', { kind: 'command', command: { type: 'take-over', reason: '', id: 0 } }, {}],
  ['command take-over-ack, max id', { kind: 'command', command: { type: 'take-over-ack', reason: 'operator', id: MAX_SAFE } }, {}],
  ['goodbye, empty reason', { kind: 'goodbye', goodbye: { reason: '' } }, {}],
  ['goodbye, reason', { kind: 'goodbye', goodbye: { reason: 'shutdown' } }, {}],
  [
    'configPush, empty',
    { kind: 'configPush', configPush: { version: 0, hash: '', sharedJson: '', lineage: [], committedAtMs: 0, committedBy: '', requestId: 0 } },
    {},
  ],
  [
    'configPush, full lineage and a large body',
    {
      kind: 'configPush',
      configPush: {
        version: MAX_SAFE,
        hash: 'ab'.repeat(32),
        sharedJson: JSON.stringify({ policy: { rules: 'x'.repeat(100_000) } }),
        lineage: Array.from({ length: CONFIG_LINEAGE_MAX }, (_, i) => String(i).padStart(64, '0')),
        committedAtMs: MAX_SAFE,
        committedBy: 'fw-a',
        requestId: 7,
      },
    },
    {},
  ],
  ['configAck, applied', { kind: 'configAck', configAck: { version: 3, hash: 'cd'.repeat(32), applied: true, error: '', keptAside: '/var/lib/x.json' } }, {}],
  [
    'configAck, refused',
    { kind: 'configAck', configAck: { version: 3, hash: '', applied: false, error: 'shared.routes[0].interface: dmz', keptAside: '' } },
    {},
  ],
  ['configRequest', { kind: 'configRequest', configRequest: { requestId: MAX_SAFE } }, {}],
];

describe('codec round trip', () => {
  it.each(cases)('%s', (_name, body, over) => {
    const e = env(body, over);
    expect(decodeEnvelope(encodeEnvelope(e))).toEqual(e);
  });

  it('covers every body kind', () => {
    expect(new Set(cases.map(([, b]) => b.kind))).toEqual(new Set(BODY_KINDS));
  });

  it.each(HA_STATES.map((s) => [s]))('HA state %s survives a heartbeat, hello and state update', (state) => {
    for (const body of [
      { kind: 'heartbeat', heartbeat: { ...hbZero, state } },
      { kind: 'hello', hello: { ...helloZero, state } },
      { kind: 'stateUpdate', stateUpdate: { state, reason: 'r' } },
    ] as EnvelopeBody[]) {
      expect(decodeEnvelope(encodeEnvelope(env(body)))).toEqual(env(body));
    }
  });
});

describe('codec against a hand-built reference encoding', () => {
  it('encodes a heartbeat envelope byte for byte as the spec says', () => {
    const e = env(
      {
        kind: 'heartbeat',
        heartbeat: { state: 'active', priority: 50, preempt: true, sentNs: 2 ** 40, echoNs: 0, echoDelayNs: 5, link: 1 },
      },
      { sender: 1, epoch: 300, seq: 2, groupId: 9 },
    );
    const hb = [...vfield(1, 3), ...vfield(2, 50), ...vfield(3, true), ...vfield(4, 2 ** 40), ...vfield(6, 5), ...vfield(7, 1)];
    const expected = bytes(vfield(1, 1), vfield(2, 300), vfield(3, 2), vfield(4, 9), lfield(10, hb));
    expect([...encodeEnvelope(e)]).toEqual([...expected]);
    expect(decodeEnvelope(expected)).toEqual(e);
  });

  it('decodes a hand-built hello and goodbye', () => {
    const hello = bytes(vfield(1, 0), lfield(11, [...sfield(1, 'fw-b'), ...vfield(2, 100), ...vfield(4, 2), ...vfield(11, 2n ** 53n - 1n)]));
    const d = decodeEnvelope(hello);
    expect(d.body.kind).toBe('hello');
    if (d.body.kind === 'hello') {
      expect(d.body.hello.name).toBe('fw-b');
      expect(d.body.hello.priority).toBe(100);
      expect(d.body.hello.state).toBe('passive');
      expect(d.body.hello.configVersion).toBe(MAX_SAFE);
    }
    expect(decodeEnvelope(bytes(lfield(14, sfield(1, 'bye')))).body).toEqual({ kind: 'goodbye', goodbye: { reason: 'bye' } });
  });

  it('ignores field 8 of a heartbeat (the reserved `tentative` flag) from an older peer', () => {
    const hb = [...vfield(1, 6), ...vfield(2, 100), ...vfield(8, true)];
    const d = decodeEnvelope(bytes(vfield(1, 1), lfield(10, hb)));
    expect(d.body).toEqual({ kind: 'heartbeat', heartbeat: { ...hbZero, state: 'tentative', priority: 100 } });
  });

  it('ignores unknown fields a newer peer may add', () => {
    const b = bytes(vfield(1, 1), vfield(99, 12345), lfield(14, [...sfield(1, 'x'), ...vfield(50, 1)]), lfield(98, 'extra'));
    expect(decodeEnvelope(b)).toEqual({ sender: 1, epoch: 0, seq: 0, groupId: 0, body: { kind: 'goodbye', goodbye: { reason: 'x' } } });
  });

  it('takes the last body when a oneof appears twice (proto3 rule)', () => {
    const b = bytes(lfield(14, sfield(1, 'first')), lfield(12, [...vfield(1, 3), ...sfield(2, 'second')]));
    expect(decodeEnvelope(b).body).toEqual({ kind: 'stateUpdate', stateUpdate: { state: 'active', reason: 'second' } });
  });
});

describe('codec rejects', () => {
  const good = encodeEnvelope(env(helloMax));

  it('every truncation of a valid envelope', () => {
    for (let len = 0; len < good.length; len++) {
      expectWireError(() => decodeEnvelope(good.subarray(0, len)), 'malformed');
    }
  });

  it('an envelope without a body', () => {
    expectWireError(() => decodeEnvelope(bytes(vfield(1, 1), vfield(2, 5), vfield(3, 1))), 'malformed');
    expectWireError(() => decodeEnvelope(new Uint8Array(0)), 'malformed');
  });

  it('a body of a kind this build does not know (field 18)', () => {
    expectWireError(() => decodeEnvelope(bytes(vfield(1, 1), lfield(18, sfield(1, 'x')))), 'malformed');
  });

  it('garbage', () => {
    expectWireError(() => decodeEnvelope(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])), 'malformed');
    expectWireError(() => decodeEnvelope(Buffer.from('GET / HTTP/1.1\r\n\r\n')), 'malformed');
    // wire type 7 does not exist
    expectWireError(() => decodeEnvelope(Uint8Array.from([0x0f, 0x01])), 'malformed');
  });

  it('random bytes: never throws anything but a malformed WireError', () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    for (let i = 0; i < 2000; i++) {
      const buf = Uint8Array.from({ length: 1 + (rand() % 64) }, rand);
      try {
        decodeEnvelope(buf);
      } catch (err) {
        expect(err).toBeInstanceOf(WireError);
        expect((err as WireError).code).toBe('malformed');
      }
    }
  });

  it('a length prefix running past the end of the input', () => {
    expectWireError(() => decodeEnvelope(bytes([0x52, 0x7f], vfield(1, 3))), 'malformed');
  });

  it('uint64 values above 2^53-1', () => {
    for (const big of [2n ** 53n, 2n ** 64n - 1n]) {
      expectWireError(() => decodeEnvelope(bytes(vfield(2, big), lfield(14, []))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(vfield(3, big), lfield(14, []))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(lfield(10, [...vfield(1, 3), ...vfield(4, big)]))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(lfield(11, [...vfield(4, 3), ...vfield(13, big)]))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(lfield(13, [...vfield(1, 1), ...vfield(3, big)]))), 'malformed');
    }
    // 2^53 - 1 is the largest accepted
    expect(decodeEnvelope(bytes(vfield(2, 2n ** 53n - 1n), lfield(14, []))).epoch).toBe(MAX_SAFE);
  });

  it('priority above 255 and link above 2', () => {
    expectWireError(() => decodeEnvelope(bytes(lfield(10, [...vfield(1, 3), ...vfield(2, 256)]))), 'malformed');
    expectWireError(() => decodeEnvelope(bytes(lfield(11, [...vfield(4, 3), ...vfield(2, 1000)]))), 'malformed');
    expectWireError(() => decodeEnvelope(bytes(lfield(10, [...vfield(1, 3), ...vfield(7, 3)]))), 'malformed');
  });

  it('unspecified, unknown and not-yet-supported HA states', () => {
    for (const v of [0, 7, 8, 9, 1000, -1]) {
      expectWireError(() => decodeEnvelope(bytes(lfield(12, vfield(1, v)))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(lfield(10, vfield(1, v)))), 'malformed');
      expectWireError(() => decodeEnvelope(bytes(lfield(11, vfield(4, v)))), 'malformed');
    }
  });

  it('unspecified and unknown command types', () => {
    for (const v of [0, 3, 77]) expectWireError(() => decodeEnvelope(bytes(lfield(13, vfield(1, v)))), 'malformed');
  });

  it('strings past their bound (a name, a reason): they are logged and shown in status', () => {
    expectWireError(() => decodeEnvelope(bytes(lfield(11, [...sfield(1, 'n'.repeat(NAME_MAX + 1)), ...vfield(4, 2)]))), 'malformed');
    expectWireError(() => decodeEnvelope(bytes(lfield(14, sfield(1, 'r'.repeat(REASON_MAX + 1))))), 'malformed');
    expect(decodeEnvelope(bytes(lfield(14, sfield(1, 'r'.repeat(REASON_MAX))))).body).toEqual({ kind: 'goodbye', goodbye: { reason: 'r'.repeat(REASON_MAX) } });
  });
});

describe('codec refuses to encode what the wire cannot carry', () => {
  it.each<[string, Envelope]>([
    ['epoch above 2^53-1', env(heartbeatMin, { epoch: 2 ** 53 })],
    ['negative seq', env(heartbeatMin, { seq: -1 })],
    ['fractional seq', env(heartbeatMin, { seq: 1.5 })],
    ['sender above uint32', env(heartbeatMin, { sender: 2 ** 32 })],
    ['priority 256', env({ kind: 'heartbeat', heartbeat: { ...hbZero, priority: 256 } })],
    ['link 3', env({ kind: 'heartbeat', heartbeat: { ...hbZero, link: 3 } })],
    ['NaN uptime', env({ kind: 'hello', hello: { ...helloZero, uptimeMs: Number.NaN } })],
    ['unknown state', env({ kind: 'stateUpdate', stateUpdate: { state: 'active-primary' as HaState, reason: '' } })],
    ['unknown command', env({ kind: 'command', command: { type: 'reboot' as never, reason: '', id: 1 } })],
    ['a reason past its bound', env({ kind: 'stateUpdate', stateUpdate: { state: 'active', reason: 'x'.repeat(REASON_MAX + 1) } })],
  ])('%s', (_name, e) => {
    expectWireError(() => encodeEnvelope(e), 'invalid-message');
  });
});

describe('HA state mapping', () => {
  it('maps every election state to a distinct wire value and back', () => {
    const wires = HA_STATES.map(haStateToWire);
    expect(new Set(wires).size).toBe(HA_STATES.length);
    for (const s of HA_STATES) expect(haStateFromWire(haStateToWire(s))).toBe(s);
  });

  it('uses the numbers of proto/ha1.proto', () => {
    expect(haStateToWire('initial')).toBe(1);
    expect(haStateToWire('passive')).toBe(2);
    expect(haStateToWire('active')).toBe(3);
    expect(haStateToWire('suspended')).toBe(4);
    expect(haStateToWire('non-functional')).toBe(5);
    expect(haStateToWire('tentative')).toBe(6);
  });

  it('rejects unknown wire values as malformed', () => {
    expectWireError(() => haStateFromWire(0), 'malformed');
    expectWireError(() => haStateFromWire(42), 'malformed');
  });
});

describe('config messages', () => {
  it('refuses a lineage longer than the bound, both ways', () => {
    const push = {
      version: 1,
      hash: 'h',
      sharedJson: '{}',
      lineage: Array.from({ length: CONFIG_LINEAGE_MAX + 1 }, () => 'h'),
      committedAtMs: 0,
      committedBy: '',
      requestId: 0,
    };
    expect(() => encodeEnvelope(env({ kind: 'configPush', configPush: push }))).toThrow(/lineage/);
    // hand-built: 65 lineage strings inside field 15
    const lineage = Array.from({ length: CONFIG_LINEAGE_MAX + 1 }, () => [...sfield(4, 'h')]).flat();
    expect(() => decodeEnvelope(bytes(vfield(1, 1), lfield(15, lineage)))).toThrow(WireError);
  });
});

describe('heartbeat healthy groups', () => {
  const hb = (healthyGroups: string[]): EnvelopeBody => ({ kind: 'heartbeat', heartbeat: { ...hbZero, healthyGroups } });

  it('round-trip, and an empty list is the same as none', () => {
    const groups = ['link-monitor:outside', 'path-monitor:upstream'];
    expect(decodeEnvelope(encodeEnvelope(env(hb(groups)))).body).toEqual(hb(groups));
    expect(decodeEnvelope(encodeEnvelope(env(hb([])))).body).toEqual(heartbeatMin);
  });

  it('refuses to send more entries or longer ones than the bounds', () => {
    expectWireError(() => encodeEnvelope(env(hb(Array.from({ length: HEALTHY_GROUPS_MAX + 1 }, (_, i) => `g${i}`)))), 'invalid-message');
    expectWireError(() => encodeEnvelope(env(hb(['x'.repeat(HEALTHY_GROUP_CHARS_MAX + 1)]))), 'invalid-message');
  });

  it('a peer sending more or longer is malformed', () => {
    const many = tandemHa1.Envelope.encode({
      sender: 1,
      heartbeat: { healthyGroups: Array.from({ length: HEALTHY_GROUPS_MAX + 1 }, (_, i) => `g${i}`) },
    }).finish();
    expectWireError(() => decodeEnvelope(many), 'malformed');
    const long = tandemHa1.Envelope.encode({ sender: 1, heartbeat: { healthyGroups: ['x'.repeat(HEALTHY_GROUP_CHARS_MAX + 1)] } }).finish();
    expectWireError(() => decodeEnvelope(long), 'malformed');
  });
});

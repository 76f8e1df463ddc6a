// DataplaneClient lives in src/daemon; its tests sit with the API it feeds.
import { afterEach, describe, expect, it } from 'vitest';
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { DataplaneClient, type DataplaneQuery } from '../../../src/daemon/dataplane-client.js';
import { SessionsUnavailable } from '../../../src/api/sessions.js';
import { listSessions, natKind, sessionMatches, type SessionList } from '../../../src/wire/session-view.js';
import { fixedSessions } from './fixtures.js';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const p of ports.splice(0)) p.close();
});

/** A client and the dataplane's end of its port; `serve` answers each query. */
function pair(serve: (q: DataplaneQuery, reply: (msg: unknown) => void) => void, timeouts = { statusMs: 100, sessionsMs: 100 }) {
  const { port1, port2 } = new MessageChannel();
  ports.push(port1, port2);
  const seen: DataplaneQuery[] = [];
  port1.on('message', (q: DataplaneQuery) => {
    seen.push(q);
    serve(q, (msg) => port1.postMessage(msg));
  });
  return { client: new DataplaneClient(port2, timeouts), seen, dataplane: port1 };
}

/** The dataplane side as host.ts is to implement it. */
function reference(q: DataplaneQuery, reply: (msg: unknown) => void): void {
  if (q.type === 'status-request') reply({ type: 'status', id: q.id, data: { rx: 1 } });
  else {
    const all = fixedSessions().sessions;
    reply({ type: 'sessions', id: q.id, data: listSessions(all, all.length, q.filter, q.limit) });
  }
}

describe('DataplaneClient.sessions', () => {
  it('sends {type:"sessions-request", id, filter, limit} and resolves the answer with that id', async () => {
    const { client, seen } = pair(reference);
    const list = await client.sessions({ protocol: 'tcp' }, 1);
    expect(seen).toEqual([{ type: 'sessions-request', id: 1, filter: { protocol: 'tcp' }, limit: 1 }]);
    expect(list.total).toBe(3);
    expect(list.matched).toBe(2);
    expect(list.sessions.map((s) => s.id)).toEqual([7]);
    expect(list.truncated).toBe(true);
    expect(client.pendingCount).toBe(0);
  });

  it('concurrent queries are matched by id, whatever the order of the answers', async () => {
    const held: [DataplaneQuery, (m: unknown) => void][] = [];
    const { client } = pair((q, reply) => {
      held.push([q, reply]);
      if (held.length === 3) for (const [hq, r] of held.reverse()) reference(hq, r);
    });
    const [a, b, s] = await Promise.all([client.sessions({ port: 53 }, 10), client.sessions({}, 0), client.status()]);
    expect(a.sessions.map((x) => x.id)).toEqual([8]);
    expect(b).toEqual({ total: 3, matched: 3, sessions: [], truncated: true });
    expect(s).toEqual({ rx: 1 });
  });

  it('no answer: rejects SessionsUnavailable(timeout) and forgets the id; a late answer is ignored', async () => {
    let late: (() => void) | undefined;
    const { client } = pair((q, reply) => {
      late = () => reference(q, reply);
    });
    const err = await client.sessions({}, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionsUnavailable);
    expect((err as SessionsUnavailable).reason).toBe('timeout');
    expect(client.pendingCount).toBe(0);
    late?.();
    await new Promise((r) => setTimeout(r, 20));
    expect(client.pendingCount).toBe(0);
  });

  it('an error answer rejects SessionsUnavailable(error) with its text', async () => {
    const { client } = pair((q, reply) => reply({ type: 'sessions', id: q.id, error: 'table locked' }));
    const err = await client.sessions({}, 10).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SessionsUnavailable);
    expect((err as SessionsUnavailable).reason).toBe('error');
    expect((err as Error).message).toContain('table locked');
  });

  it('status keeps its discipline: { error: "timeout" } when unanswered', async () => {
    const { client } = pair(() => {});
    expect(await client.status()).toEqual({ error: 'timeout' });
  });

  it('records the interfaces of "ready" and ignores garbage', async () => {
    const { client, dataplane } = pair(reference);
    dataplane.postMessage(null);
    dataplane.postMessage({ type: 'sessions', id: 'x' });
    dataplane.postMessage({ type: 'ready', interfaces: [{ name: 'lan' }] });
    await client.status();
    expect(client.interfaces).toEqual([{ name: 'lan' }]);
  });
});

describe('sessionMatches / listSessions (the filter the dataplane applies)', () => {
  const all = fixedSessions().sessions;
  const ids = (l: SessionList) => l.sessions.map((s) => s.id);
  it.each([
    [{}, [7, 8, 9]],
    [{ address: '10.0.2.1' }, [7, 9]], // translated source of 7 (reply dst), original dst of 9
    [{ address: '10.0.1.20' }, [9]], // translated destination (reply src)
    [{ address: '10.9.9.9' }, []],
    [{ port: 40001 }, [7]], // translated source port
    [{ port: 80 }, [9]], // translated destination port
    [{ port: 40000 }, [9]],
    [{ protocol: 'udp' }, [8]],
    [{ state: 'established' }, [7, 9]],
    [{ rule: '(default)' }, [8]],
    [{ protocol: 'tcp', port: 443 }, [7]],
    [{ protocol: 'udp', port: 443 }, []],
  ] as const)('%j -> %j', (filter, expected) => {
    const list = listSessions(all, 5, filter, 100);
    expect(ids(list)).toEqual(expected);
    expect(list).toMatchObject({ total: 5, matched: expected.length, truncated: false });
    for (const s of all) expect(sessionMatches(s, filter)).toBe((expected as readonly number[]).includes(s.id));
  });

  it('limit keeps the first matches and counts the rest', () => {
    expect(listSessions(all, 3, {}, 2)).toMatchObject({ matched: 3, truncated: true, sessions: [{ id: 7 }, { id: 8 }] });
    expect(listSessions(all, 3, {}, 0)).toEqual({ total: 3, matched: 3, sessions: [], truncated: true });
  });
});

describe('natKind', () => {
  it('agrees with every session of the fixture, and finds both', () => {
    for (const v of fixedSessions().sessions) expect(natKind(v.original, v.reply)).toBe(v.nat);
    const o = { src: '10.0.1.10', srcPort: 1000, dst: '10.0.2.1', dstPort: 80 };
    expect(natKind(o, { src: '10.0.3.3', srcPort: 80, dst: '10.0.2.1', dstPort: 40000 })).toBe('both');
    expect(natKind(o, { src: '10.0.2.1', srcPort: 8080, dst: '10.0.1.10', dstPort: 1000 })).toBe('destination');
  });
});

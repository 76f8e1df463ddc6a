// The control agent's event feed: an event fed while another step's actions are carried out (the
// sync channel answering a role change at once) is stepped after them, never in the middle.
import { describe, expect, it } from 'vitest';
import { SerialFeed } from '../../../src/control/serial-feed.js';

/** A core whose state is a number: each event sets it, and its actions say so, then publish it. */
function rig(nestedOn: string) {
  let state = 'initial';
  const applied: string[] = [];
  const feed: SerialFeed<string, string> = new SerialFeed(
    (event) => {
      state = event;
      return [`role:${event}`, `publish:${state}`];
    },
    (action) => {
      applied.push(action);
      // carrying out this action makes its receiver feed the core at once (sync: bulk complete)
      if (action === `role:${nestedOn}`) expect(feed.feed('active-secondary')).toEqual([]);
    },
  );
  return { feed, applied, state: () => state };
}

describe('SerialFeed', () => {
  it('a nested event is stepped after every action of the step that caused it, so the last view published is the newest', () => {
    const r = rig('tentative');
    expect(r.feed.feed('tentative')).toEqual(['role:tentative', 'publish:tentative']);
    expect(r.applied).toEqual(['role:tentative', 'publish:tentative', 'role:active-secondary', 'publish:active-secondary']);
    expect(r.state()).toBe('active-secondary');
  });

  it('events fed one after another run as before', () => {
    const r = rig('never');
    r.feed.feed('a');
    r.feed.feed('b');
    expect(r.applied).toEqual(['role:a', 'publish:a', 'role:b', 'publish:b']);
  });

  it('an action that throws leaves the feed usable and drops what it queued', () => {
    let fail = true;
    const applied: string[] = [];
    const feed: SerialFeed<string, string> = new SerialFeed(
      (e) => [e],
      (a) => {
        applied.push(a);
        if (a === 'x' && fail) {
          feed.feed('queued');
          throw new Error('boom');
        }
      },
    );
    expect(() => feed.feed('x')).toThrow('boom');
    fail = false;
    feed.feed('y');
    expect(applied).toEqual(['x', 'y']);
  });
});

// The core's events, one at a time. Carrying out an action can feed the core again before the
// step that asked for it is fully carried out: setting the HA2 sync role to receiver makes the
// sync channel report, at once, that its copy of the peer's table is complete. Stepped there and
// then, the nested event's actions were applied first and the outer step's remaining actions
// after them, stale: a split brain resolved into tentative and straight back to active-secondary
// left the dataplane serving no class (the outer step's pair view, written last), for good,
// because the core believed it had already said the newer one (the active/active NAT stall of
// docs/active-active.md). Queued, a nested event is stepped after every action of the step that
// caused it, so the dataplane hears the steps' views in the order the core took them.

export class SerialFeed<E, A> {
  private busy = false;
  private readonly queue: E[] = [];

  /** `step` advances the core by one event and returns its actions; `act` carries one out. */
  constructor(
    private readonly step: (event: E) => readonly A[],
    private readonly act: (action: A, event: E) => void,
  ) {}

  /**
   * Steps `event` and carries out its actions, then any event fed meanwhile. Returns the actions
   * of `event`'s own step; an event fed while another is carried out is queued and gets [] (its
   * caller is a callback that wants no answer).
   */
  feed(event: E): readonly A[] {
    if (this.busy) {
      this.queue.push(event);
      return [];
    }
    this.busy = true;
    try {
      const actions = this.run(event);
      for (let next = this.queue.shift(); next !== undefined; next = this.queue.shift()) this.run(next);
      return actions;
    } finally {
      this.busy = false;
      this.queue.length = 0;
    }
  }

  private run(event: E): readonly A[] {
    const actions = this.step(event);
    for (const a of actions) this.act(a, event);
    return actions;
  }
}

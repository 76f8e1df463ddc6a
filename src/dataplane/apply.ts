// What applying a committed shared half to the running dataplane answers, and which parts of the
// shared half the dataplane can only take at start (docs/firewall.md "Committing a new config:
// what changes when"). Pure.
import type { SharedConfig } from '../config/types.js';
import { floatingInterfaceOrder } from './vmac.js';

export type ApplyResult =
  | {
      ok: true;
      /**
       * Config paths whose new value is NOT in effect until the daemon restarts (the rest of the
       * commit is). 'shared.floatingIps' here means the addresses are in effect but the virtual
       * MAC numbering they imply is not: the interfaces keep the MACs they started with.
       */
      restartRequired: string[];
      /** Sessions the new policy no longer allows, removed. */
      sessionsRemoved: number;
      /** The firewall's new FirewallStats layout (re-attach the metrics to it), null without a firewall. */
      firewallBuffer: SharedArrayBuffer | null;
      /** Policy and NAT rule names in config order: the indexes firewallBuffer counts by. */
      ruleNames: string[];
      natRuleNames: string[];
    }
  | { ok: false; error: string };

/**
 * The paths of `next` that differ from what the dataplane started with (`running`) and that it
 * cannot change live: the session table is preallocated at shared.sessions.max; the interfaces'
 * MACs are fixed when their capture handles open (their filters drop our own frames by MAC), and
 * they follow shared.ha.virtualMac, shared.ha.groupId and which interfaces carry floating IPs;
 * shared.ha.mode decides how the whole pair runs.
 */
export function restartRequired(running: SharedConfig, next: SharedConfig, interfaceNames: readonly string[]): string[] {
  const paths: string[] = [];
  if (next.sessions.max !== running.sessions.max) paths.push('shared.sessions.max');
  if (next.ha.mode !== running.ha.mode) paths.push('shared.ha.mode');
  if (next.ha.groupId !== running.ha.groupId) paths.push('shared.ha.groupId');
  if (next.ha.virtualMac !== running.ha.virtualMac) paths.push('shared.ha.virtualMac');
  if (running.ha.virtualMac && next.ha.virtualMac) {
    // an interface's virtual MAC ends in its position among the interfaces with floating IPs
    const before = floatingInterfaceOrder(running);
    const after = floatingInterfaceOrder(next);
    if (interfaceNames.some((name) => before.indexOf(name) !== after.indexOf(name))) paths.push('shared.floatingIps');
  }
  return paths;
}

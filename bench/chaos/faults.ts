// The failures the chaos run inflicts on the active box, each with its way back. They act on
// this run's lab only (its namespaces, its daemons by recorded PID).
import type { Lab, LabBox } from '../../src/lab/lab.js';
import { LAB_ADDR } from '../../src/lab/topology.js';
import type { Kind } from './analyse.js';

/** nft table added in N-server to drop the active's path-monitor echoes. */
const NFT_TABLE = 'tandemchaos';

export interface Fault {
  /** Undoes the failure: the box comes back (restarted, woken, plugged in, reachable). */
  recover(): Promise<void>;
  /** A frozen daemon's PID, to wake it if the run is cut short. */
  frozenPid: number | null;
}

/** Inflicts `kind` on `box` (the active). */
export async function inject(lab: Lab, kind: Kind, box: LabBox): Promise<Fault> {
  switch (kind) {
    case 'kill':
      await lab.killBox(box, 'SIGKILL');
      return { frozenPid: null, recover: async () => void (await lab.startBox(box)) };
    case 'restart':
      // graceful: SIGTERM, and killBox waits until the process is gone
      await lab.killBox(box, 'SIGTERM', 10_000);
      return { frozenPid: null, recover: async () => void (await lab.startBox(box)) };
    case 'stop': {
      const pid = await lab.killBox(box, 'SIGSTOP');
      return { frozenPid: pid, recover: async () => void process.kill(pid, 'SIGCONT') };
    }
    case 'link':
      await lab.setLink(box, 'wan', false);
      return { frozenPid: null, recover: () => lab.setLink(box, 'wan', true) };
    case 'admin':
      // the box's own device, inside the box (an operator's ip link set wan0 down): the capture
      // handle fails (ENETDOWN) and must come back without a restart
      await lab.setBoxDevice(box, 'wan', false);
      return { frozenPid: null, recover: () => lab.setBoxDevice(box, 'wan', true) };
    case 'recreate':
      // the device deleted (a NIC reset, a driver reload) and, on the way back, created again with a new ifindex and MAC
      await lab.deleteBoxDevice(box, 'wan');
      return { frozenPid: null, recover: () => lab.createBoxDevice(box, 'wan') };
    case 'ha1':
      // both HA1 links; the heartbeat backup (mgmt) still carries heartbeats
      await lab.setLink(box, 'ha1', false);
      await lab.setLink(box, 'ha1b', false);
      return {
        frozenPid: null,
        recover: async () => {
          await lab.setLink(box, 'ha1', true);
          await lab.setLink(box, 'ha1b', true);
        },
      };
    case 'ha2':
      await lab.setLink(box, 'ha2', false);
      return { frozenPid: null, recover: () => lab.setLink(box, 'ha2', true) };
    case 'path': {
      // the server stops answering the active's path-monitor echoes only (source: its own wan address)
      const from = LAB_ADDR.boxes[box].wan;
      await lab.nsExec('server', 'nft', ['add', 'table', 'inet', NFT_TABLE]);
      await lab.nsExec('server', 'nft', ['add', 'chain', 'inet', NFT_TABLE, 'input', '{ type filter hook input priority 0; policy accept; }']);
      await lab.nsExec('server', 'nft', ['add', 'rule', 'inet', NFT_TABLE, 'input', 'ip', 'saddr', from, 'icmp', 'type', 'echo-request', 'drop']);
      return { frozenPid: null, recover: async () => void (await lab.nsExec('server', 'nft', ['delete', 'table', 'inet', NFT_TABLE])) };
    }
    default: {
      const never: never = kind;
      throw new Error(`unknown failure kind ${String(never)}`);
    }
  }
}

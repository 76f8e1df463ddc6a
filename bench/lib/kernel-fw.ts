// The Linux kernel as the baseline firewall on the lab's box: IPv4 forwarding on, the floating IPs
// as kernel addresses, and an nftables ruleset equivalent to the lab's policy (deploy/lab/fwa.yaml):
// stateful (ct state established,related), the lab-test, web-out and ping rules from trust (lan)
// to untrust (wan), default drop, and source NAT of the lan subnet on wan. The table is `inet`: the
// lab-test and ping rules have IPv6 twins (the lab's IPv6 prefixes, ICMPv6), used where the box
// forwards IPv6 too (the baseline bench); IPv6 is not NATed, as in the lab's policy.
import { spawn } from 'node:child_process';
import { nsExec, sh } from '../../src/lab/exec.js';
import { BOX_DEVICE, LAB_ADDR, LAB_ADDR6 } from '../../src/lab/topology.js';

export const KERNEL_FW_TABLE = 'bench_fw';

/** The ruleset text for `nft -f -`. Pure. */
export function kernelFirewallRuleset(): string {
  const lan = BOX_DEVICE.lan;
  const wan = BOX_DEVICE.wan;
  return `table inet ${KERNEL_FW_TABLE} {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "${lan}" oifname "${wan}" ip saddr ${LAB_ADDR.lanPrefix} ip daddr ${LAB_ADDR.wanPrefix} meta l4proto { tcp, udp } th dport 5000-5999 counter accept comment "lab-test"
    iifname "${lan}" oifname "${wan}" tcp dport { 80, 443 } accept comment "web-out"
    iifname "${lan}" oifname "${wan}" meta l4proto icmp accept comment "ping"
    iifname "${lan}" oifname "${wan}" ip6 saddr ${LAB_ADDR6.lanPrefix} ip6 daddr ${LAB_ADDR6.wanPrefix} meta l4proto { tcp, udp } th dport 5000-5999 counter accept comment "lab-test6"
    iifname "${lan}" oifname "${wan}" meta l4proto ipv6-icmp accept comment "ping6"
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${wan}" ip saddr ${LAB_ADDR.lanPrefix} masquerade comment "hide-lan"
  }
}
`;
}

/** Runs `nft -f -` with `ruleset` on stdin inside `ns`. */
export function nftLoad(ns: string, ruleset: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const child = spawn('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.once('error', (e) => reject(new Error(`cannot run nft (apt-get install nftables): ${e.message}`)));
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`nft -f in ${ns} failed: ${err.trim()}`))));
    child.stdin.end(ruleset);
  });
}

/**
 * Turns box namespace `ns` (its daemon stopped) into a kernel router-firewall: the floating IPs
 * on lan0/wan0, ip_forward=1, the ruleset above.
 */
export async function kernelFirewallUp(ns: string): Promise<void> {
  for (const [link, addr] of [
    ['lan', LAB_ADDR.floatingLan],
    ['wan', LAB_ADDR.floatingWan],
  ] as const) {
    await sh('ip', ['-n', ns, 'addr', 'add', `${addr}/${LAB_ADDR.prefixLength}`, 'dev', BOX_DEVICE[link]]);
  }
  await nftLoad(ns, kernelFirewallRuleset());
  await nsExec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1']);
}

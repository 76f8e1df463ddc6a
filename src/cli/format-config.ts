// Text for the `tandem config` commands: validate's one line, commit's result, show's header.
import type { CommitResponse, ConfigResponse } from '../api/protocol.js';
import type { TandemConfig } from '../config/types.js';
import { plural } from './format.js';

const short = (hash: string | null): string => (hash ? hash.slice(0, 12) : '-');

export function formatCommit(r: CommitResponse): string {
  const lines: string[] = [];
  if (!r.changed) lines.push(`unchanged: the file's shared half is what already runs (v${r.version}, hash ${short(r.hash)})`);
  else lines.push(`committed shared config v${r.version} (hash ${short(r.hash)})`);
  if (r.sessionsRemoved > 0) lines.push(`sessions the new policy no longer allows: ${r.sessionsRemoved} removed`);
  if (r.restartRequired.length > 0) lines.push(`takes effect at the next restart: ${r.restartRequired.join(', ')}`);
  if (r.deviceDiffers) lines.push("the file's device: half differs from the running one: device changes need a restart with that file");
  lines.push(`peer: ${r.peer.synced ? 'in sync' : 'not in sync'} (${r.peer.message})`);
  if (r.peer.keptAside) lines.push(`the peer kept its diverged config aside: ${r.peer.keptAside}`);
  return lines.join('\n');
}

/** The lines above `config show`'s YAML, as YAML comments so the whole output stays a valid file. */
export function formatConfigHeader(c: ConfigResponse): string {
  const lines = [
    `# shared config v${c.version} (hash ${short(c.hash)}), ${c.origin === 'file' ? 'from the config file, never committed' : `committed ${c.committedAt} on ${c.committedBy}${c.origin === 'peer' ? ' (pushed by the peer)' : ''}`}`,
  ];
  const p = c.peer;
  if (!p.up) lines.push('# peer: down');
  else if (p.inSync) lines.push(`# peer: in sync (v${p.version})`);
  else lines.push(`# peer: NOT in sync: it runs v${p.version ?? '?'} (hash ${short(p.hash)})${p.lastError ? `; last error: ${p.lastError}` : ''}`);
  if (c.restartRequired.length > 0) lines.push(`# takes effect at the next restart: ${c.restartRequired.join(', ')}`);
  if (c.keptAside.length > 0) {
    lines.push(`# kept aside: ${c.keptAside.length} config(s); newest: ${c.keptAside[0].file} (${c.keptAside[0].why})`);
  }
  return lines.join('\n');
}

/** The one line `tandem config validate` prints for a good file. */
export function formatConfigSummary(file: string, c: TandemConfig): string {
  const d = c.device;
  const sh = c.shared;
  const parts = [
    `device ${d.name}`,
    `id ${d.id}`,
    `priority ${d.priority}`,
    `${sh.ha.mode}`,
    `group ${sh.ha.groupId}`,
    `timers ${sh.ha.timers.profile}`,
    `preempt ${sh.ha.preempt.enabled ? 'on' : 'off'}`,
    plural(Object.keys(d.interfaces).length, 'interface'),
    plural(sh.floatingIps.length, 'floating IP'),
    plural(sh.policy.rules.length, 'policy rule'),
    plural(sh.nat.length, 'NAT rule'),
    plural(sh.routes.length, 'route'),
  ];
  return `${file}: valid (${parts.join(', ')})`;
}

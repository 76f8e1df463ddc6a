// A registry where every family has at least one sample, as a busy daemon's would: what the
// promtool and Grafana checks read (a family without samples would hide its labels from them).
import { Metrics } from '../../../src/metrics/registry.js';
import { SharedState } from '../../../src/wire/shared-state.js';
import { COUNTER_COUNT } from '../../../src/wire/dataplane-counters.js';
import { FirewallStats } from '../../../src/wire/firewall-stats.js';

export function busyMetrics(): Metrics {
  const m = new Metrics();
  m.setState('active');
  m.setPeerUp(true);
  m.transition('passive', 'active', 'peer-dead');
  m.failover('peer-dead', 0.042);
  m.heartbeatRtt('ha1', 0.0002);
  m.setLinkUp('ha1', 'heartbeat', true);
  m.setLinkUp('ha1', 'session', true);
  m.message('ha1-heartbeat', 'rx', 'heartbeat');
  m.rejected('ha1-session', 'bad-auth');
  m.apiRequest('/v1/status', 200);
  m.apiTlsReload('ok');
  m.setApiTlsCertExpiry(new Date('2027-12-07T00:00:00Z'));
  m.setSyncBacklog(3);
  m.syncLag(0.0015);
  m.setSessionsSynced(10);
  m.syncMessage('tx', 'batch');
  m.syncRecordsCarried('tx', 5);
  m.syncResync('connect');
  m.setSyncConnected(true);
  m.syncRingStall();
  m.syncRecordsDiscarded('overflow', 2);
  m.controlStall('short');
  m.setConfig(2, 'c0ffee'.padEnd(64, '0'), true, 0);
  m.configCommit('applied');
  m.configPush('tx', 'sent');
  m.setMonitorGroupUp('path', 'upstream', true);
  m.setLinkMonitorInterfaceUp('wan', true);
  m.setPathMonitorTargetUp('upstream', '10.0.2.10', true);
  m.pathMonitorProbe('upstream', 'lost');
  m.pathMonitorDropped('bad-prober-line', 1);
  m.pathMonitorProberRestart();
  m.attachDataplane(new SharedState(COUNTER_COUNT), ['lan', 'wan']);
  m.attachFirewall(new FirewallStats(1, 1), ['allow-web'], ['outbound-snat']);
  return m;
}

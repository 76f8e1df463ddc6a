// What the link and path monitors count (src/control/monitor): the monitors call these methods and
// the registry (registry.ts) implements them, so the monitors never see prom-client.

/** Which kind of monitor a group belongs to (label value of tandem_monitor_group_up). */
export type MonitorKind = 'link' | 'path';

/** Probe outcomes counted per path group (label values of tandem_path_monitor_probes_total). */
export type ProbeResult = 'sent' | 'replied' | 'lost' | 'unsent';

export interface MonitorMetrics {
  setMonitorGroupUp(type: MonitorKind, group: string, up: boolean): void;
  setLinkMonitorInterfaceUp(iface: string, up: boolean): void;
  setPathMonitorTargetUp(group: string, target: string, up: boolean): void;
  pathMonitorProbe(group: string, result: ProbeResult): void;
  /** ICMP datagrams or prober lines that were not a reply to one of our probes, by reason. */
  pathMonitorDropped(reason: string, n: number): void;
  pathMonitorProberRestart(): void;
  /** Forget every monitor series (before a reconfigure re-creates those that still exist). */
  resetMonitorGauges(): void;
}

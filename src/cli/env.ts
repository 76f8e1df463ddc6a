// What the `tandem` command touches outside itself: output, the environment, the clock, the
// daemon, the config loader and the lab. Tests replace any of it, so every command runs
// in-process. The daemon, the config loader and the lab are imported lazily: `tandem status`
// loads neither the dataplane nor the lab, nor zod and yaml.
import type { TandemConfig } from '../config/types.js';
import { CliError, EXIT_FAILED } from './exit-codes.js';
import type { LabStatusView } from './format-lab.js';

/** The lab's entry points (src/lab/lab.ts, src/lab/demo.ts and, in active/active, src/lab/demo-aa.ts). */
export interface LabApi {
  labUp(opts: {
    name: string;
    mode?: 'active-passive' | 'active-active';
    configDir?: string;
    haFamily?: 'ipv4' | 'ipv6';
    ipv6Ra?: boolean;
    pairs?: number;
    tls?: boolean;
  }): Promise<LabStatusView>;
  labDown(opts: { name: string }): Promise<unknown>;
  labStatus(opts: { name: string }): Promise<LabStatusView>;
  /** Progress goes to the lab's default (stderr); the result is printed here. */
  labDemo(opts: { name: string; mode?: 'active-passive' | 'active-active'; svg?: string; pairs?: number }): Promise<unknown>;
}

/** Everything the CLI touches outside itself; tests replace any of it. */
export interface CliEnv {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  now(): number;
  runDaemon(configPath: string): Promise<void>;
  /** `tandem central run`: the fleet service, until SIGTERM. */
  runCentral(configPath: string): Promise<void>;
  loadConfig(path: string): TandemConfig | Promise<TandemConfig>;
  lab(): Promise<LabApi>;
}

export function defaultCliEnv(): CliEnv {
  return {
    stdout: (t) => void process.stdout.write(t),
    stderr: (t) => void process.stderr.write(t),
    env: process.env,
    now: () => Date.now(),
    runDaemon: async (path) => (await import('../daemon/daemon.js')).runDaemon(path),
    runCentral: async (path) => (await import('../central/service.js')).runCentral(path),
    loadConfig: async (path) => (await import('../config/load.js')).loadConfig(path),
    lab: loadLab,
  };
}

/** The lab's modules; a build without them (a packaged daemon) fails the command, not the CLI. */
async function loadLab(): Promise<LabApi> {
  try {
    const lab = await import('../lab/lab.js');
    return {
      labUp: lab.labUp,
      labDown: lab.labDown,
      labStatus: lab.labStatus,
      // the demo's own helpers load only for `lab demo`
      labDemo: async ({ mode, pairs, ...opts }) =>
        pairs !== undefined && pairs > 1
          ? (await import('../lab/demo-fleet.js')).labDemoFleet({ name: opts.name, pairs })
          : mode === 'active-active'
            ? (await import('../lab/demo-aa.js')).labDemoActiveActive(opts)
            : (await import('../lab/demo.js')).labDemo(opts),
    };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND') {
      throw new CliError(EXIT_FAILED, `the lab is not part of this build (${(err as Error).message})`);
    }
    throw err;
  }
}

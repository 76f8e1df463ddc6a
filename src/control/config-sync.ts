// Shared-config commits and their replication over HA1. The active box commits (validate, version,
// apply, persist, push); the passive applies what the active pushes, after checking it against its
// own device half, and acknowledges. Both learn the other's version and hash from every hello, so
// each always knows whether the pair runs one config. A box's config that the pushed one does not
// descend from (a commit made while the pair was apart) is kept aside in the state dir, never
// thrown away. Commits and applies run one at a time.
import { ConfigError } from '../config/errors.js';
import { decidePush, nextRecord, recordFromPush, type ConfigRecord } from '../config/commit.js';
import type { ConfigStore, AsideEntry } from '../config/store.js';
import { InlineValidator, type ConfigValidator } from './config-validator.js';
import type { ConfigIssue, DeviceConfig, SharedConfig } from '../config/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/registry.js';
import { clipString, ERROR_MAX, NAME_MAX, REASON_MAX, type ConfigPush, type EnvelopeBody } from '../wire/codec.js';
import type { HaState } from './election/types.js';

/**
 * How long a commit waits for the passive's acknowledgement before it answers anyway. The passive
 * validates in a thread started at its first push: on a loaded box (a CI run beside a soak) that
 * cold start and the apply took more than 3 s. The answer comes as soon as the ack does.
 */
const PEER_ACK_TIMEOUT_MS = 8000;
/** How long `config diff` / `config show --peer` wait for the peer's copy. */
const PEER_COPY_TIMEOUT_MS = 3000;
/** A push the peer neither applied nor refused is sent again after this long (the session may have dropped it). */
const REPUSH_AFTER_MS = 3000;
/** A push the peer refused is retried this rarely: its device half will not change by itself. */
const REPUSH_REFUSED_AFTER_MS = 30_000;

/** What the box running the sync needs from the control agent. */
export interface ConfigSyncLink {
  view(): { state: HaState; peerUp: boolean; peerName: string | null };
  /** Sends on one HA1 session that is up; false when none is. */
  send(body: EnvelopeBody): boolean;
  /** A config changed here: tell the peer our new version at once (a hello). */
  announce(): void;
}

/** Applies a shared half to the running box: dataplane, control agent, metrics. Throws when the dataplane refuses. */
export type ApplyShared = (shared: SharedConfig) => Promise<{ restartRequired: string[]; sessionsRemoved: number }>;

export interface ConfigSyncOptions {
  device: DeviceConfig;
  /** The daemon's config file: relative paths in a commit file's device half resolve against it. */
  configPath?: string;
  record: ConfigRecord;
  store: ConfigStore;
  apply: ApplyShared;
  metrics: Metrics;
  log: Logger;
  /** Where parsing and validation run; default inline (the daemon passes a WorkerValidator). */
  validator?: ConfigValidator;
}

/**
 * Commits queued at once (each waits for the one before: validate, apply, persist, push). An
 * operator commits one file at a time; a script looping on commits gets a refusal past this
 * instead of a queue that grows with the requests. The peer's pushes share the queue but are never
 * refused (the peer is authenticated and commits one at a time itself).
 */
export const COMMIT_QUEUE_MAX = 8;

export class CommitRefused extends Error {
  readonly code = 'commit-refused';
}

export class ConfigApplyError extends Error {
  readonly code = 'apply-failed';
}

export class PeerConfigUnavailable extends Error {
  constructor(
    readonly reason: 'peer-down' | 'timeout',
    message: string,
  ) {
    super(message);
  }
}

export interface PeerSyncResult {
  /** The peer runs this commit's hash now. */
  synced: boolean;
  message: string;
  keptAside?: string;
}

export interface CommitResult {
  changed: boolean;
  version: number;
  hash: string;
  restartRequired: string[];
  sessionsRemoved: number;
  /** The file's device half differs from the running one: that part was not applied. */
  deviceDiffers: boolean;
  peer: PeerSyncResult;
}

export interface ValidateResult {
  valid: boolean;
  issues: ConfigIssue[];
  hash?: string;
  deviceDiffers?: boolean;
  /** The file's shared half is what already runs. */
  running?: boolean;
}

export interface ConfigRecordView {
  version: number;
  hash: string;
  origin: string;
  committedAt: string;
  committedBy: string;
  shared: SharedConfig;
}

export interface ConfigSyncStatus {
  version: number;
  hash: string;
  origin: string;
  committedAt: string;
  committedBy: string;
  /** Shared fields persisted but not applied live: they take effect when the daemon restarts. */
  restartRequired: string[];
  peer: {
    up: boolean;
    version: number | null;
    hash: string | null;
    inSync: boolean;
    /** The peer's last refusal of our push, or our last refusal of its push. */
    lastError: string | null;
  };
  /** Configs kept aside in the state dir (diverged or unusable), newest first. */
  keptAside: AsideEntry[];
}

export class ConfigSync {
  private record: ConfigRecord;
  private readonly opts: ConfigSyncOptions;
  private readonly log: Logger;
  private link: ConfigSyncLink | null = null;
  private peer: { version: number; hash: string } | null = null;
  private peerError: string | null = null;
  private push: { hash: string; atMs: number; refused: boolean } | null = null;
  private restartRequired: string[] = [];
  private serialTail: Promise<unknown> = Promise.resolve();
  /** Operations queued behind serialTail or running (see COMMIT_QUEUE_MAX). */
  private serialPending = 0;
  private readonly ackWaiters = new Map<string, (r: PeerSyncResult) => void>();
  private readonly copyWaiters = new Map<number, (push: ConfigPush) => void>();
  private nextRequestId = 1;
  /** Read once at start (before heartbeats matter), then kept up to date here: status calls touch no disk. */
  private readonly keptAside: AsideEntry[];
  private readonly validator: ConfigValidator;

  constructor(opts: ConfigSyncOptions) {
    this.opts = opts;
    this.record = opts.record;
    this.log = opts.log.child({ component: 'config' });
    this.keptAside = opts.store.listAside();
    this.validator = opts.validator ?? new InlineValidator(opts.device, opts.configPath);
    this.updateMetrics();
  }

  attach(link: ConfigSyncLink): void {
    this.link = link;
  }

  get version(): number {
    return this.record.version;
  }

  get hash(): string {
    return this.record.hash;
  }

  running(): ConfigRecordView {
    const r = this.record;
    return { version: r.version, hash: r.hash, origin: r.origin, committedAt: r.committedAt, committedBy: r.committedBy, shared: r.shared };
  }

  status(): ConfigSyncStatus {
    const view = this.view();
    const r = this.record;
    return {
      version: r.version,
      hash: r.hash,
      origin: r.origin,
      committedAt: r.committedAt,
      committedBy: r.committedBy,
      restartRequired: [...this.restartRequired],
      peer: { up: view.peerUp, version: this.peer?.version ?? null, hash: this.peer?.hash ?? null, inSync: this.inSync(), lastError: this.peerError },
      keptAside: [...this.keptAside],
    };
  }

  inSync(): boolean {
    return this.view().peerUp && this.peer !== null && this.peer.hash === this.record.hash;
  }

  // ---- operator side ----

  async validate(text: string, source: string): Promise<ValidateResult> {
    try {
      const parsed = await this.validator.parseCommit(text, source);
      return { valid: true, issues: [], hash: parsed.hash, deviceDiffers: parsed.deviceDiffers, running: parsed.hash === this.record.hash };
    } catch (err) {
      if (err instanceof ConfigError) return { valid: false, issues: err.issues };
      throw err;
    }
  }

  /** Throws ConfigError (invalid file), CommitRefused (not the box to commit on), ConfigApplyError. */
  commit(text: string, source: string): Promise<CommitResult> {
    if (this.serialPending >= COMMIT_QUEUE_MAX) {
      this.opts.metrics.configCommit('refused');
      this.log.warn({ pending: this.serialPending, source }, 'config commit refused: too many config operations waiting');
      return Promise.reject(
        new CommitRefused(`${this.serialPending} config operations are already waiting (at most ${COMMIT_QUEUE_MAX}): try again when they are done`),
      );
    }
    return this.serial(async () => {
      const view = this.view();
      if (view.peerUp && view.state !== 'active') {
        this.opts.metrics.configCommit('refused');
        throw new CommitRefused(
          `this box is ${view.state}: shared config is committed on the active box (${view.peerName ?? 'the peer'}), which pushes it here`,
        );
      }
      let parsed;
      try {
        parsed = await this.validator.parseCommit(text, source);
      } catch (err) {
        if (err instanceof ConfigError) this.opts.metrics.configCommit('invalid');
        throw err;
      }
      if (parsed.hash === this.record.hash) {
        this.opts.metrics.configCommit('unchanged');
        return {
          changed: false,
          version: this.record.version,
          hash: this.record.hash,
          restartRequired: [...this.restartRequired],
          sessionsRemoved: 0,
          deviceDiffers: parsed.deviceDiffers,
          peer: this.peerResultNow(),
        };
      }
      const rec = nextRecord(this.record, parsed, this.peer?.version ?? null, this.opts.device.name, new Date());
      let outcome;
      try {
        outcome = await this.applyAndPersist(rec);
      } catch (err) {
        this.opts.metrics.configCommit('apply-failed');
        throw err;
      }
      this.opts.metrics.configCommit('applied');
      this.log.info(
        { event: 'config-commit', version: rec.version, hash: rec.hash, source, deviceDiffers: parsed.deviceDiffers },
        `committed shared config v${rec.version}`,
      );
      const peer = view.peerUp ? await this.pushAndWait(rec) : { synced: false, message: 'the peer is down: it receives this config when it is back' };
      return { changed: true, version: rec.version, hash: rec.hash, ...outcome, deviceDiffers: parsed.deviceDiffers, peer };
    });
  }

  /** The peer's running config, asked for over HA1 (for `config show --peer` and `config diff`). */
  fetchPeer(timeoutMs = PEER_COPY_TIMEOUT_MS): Promise<ConfigRecordView> {
    const id = this.nextRequestId++;
    return new Promise((resolve, reject) => {
      if (!this.view().peerUp || !this.send({ kind: 'configRequest', configRequest: { requestId: id } })) {
        reject(new PeerConfigUnavailable('peer-down', 'the peer is not reachable over HA1'));
        return;
      }
      const timer = setTimeout(() => {
        this.copyWaiters.delete(id);
        reject(new PeerConfigUnavailable('timeout', `the peer did not send its config within ${timeoutMs} ms`));
      }, timeoutMs);
      this.copyWaiters.set(id, (push) => {
        clearTimeout(timer);
        // the peer's half against our device: shown as it would run here, defaults filled in
        this.validator.validateSharedJson(push.sharedJson).then(
          (valid) => {
            let shared: SharedConfig;
            if (valid.ok) shared = valid.shared;
            else {
              try {
                shared = JSON.parse(push.sharedJson) as SharedConfig;
              } catch {
                reject(new PeerConfigUnavailable('peer-down', 'the peer sent a config copy that is not JSON'));
                return;
              }
            }
            resolve({
              version: push.version,
              hash: push.hash,
              origin: 'peer',
              committedAt: new Date(push.committedAtMs).toISOString(),
              committedBy: push.committedBy,
              shared,
            });
          },
          (err: Error) => reject(err),
        );
      });
    });
  }

  // ---- HA1 side (called by the control agent) ----

  /** Every hello carries the peer's version and hash: the active pushes when they differ from ours. */
  onPeerHello(version: number, hash: string, nowMs: number): void {
    this.peer = { version, hash };
    this.updateMetrics();
    if (hash === this.record.hash) {
      this.peerError = null;
      return;
    }
    if (this.view().state !== 'active') return;
    const p = this.push;
    const due = p === null || p.hash !== this.record.hash || nowMs - p.atMs >= (p.refused ? REPUSH_REFUSED_AFTER_MS : REPUSH_AFTER_MS);
    if (due) this.sendPush(this.record, nowMs);
  }

  /** A new HA1 session or a peer that came back: whatever it refused before may fit now. */
  onPeerUp(): void {
    this.push = null;
    this.updateMetrics();
  }

  onPeerDown(): void {
    this.updateMetrics();
  }

  onMessage(body: EnvelopeBody, nowMs: number): void {
    switch (body.kind) {
      case 'configRequest':
        this.send({ kind: 'configPush', configPush: this.pushBody(this.record, body.configRequest.requestId) });
        return;
      case 'configPush': {
        const push = body.configPush;
        if (push.requestId > 0) {
          const waiter = this.copyWaiters.get(push.requestId);
          this.copyWaiters.delete(push.requestId);
          waiter?.(push);
          return;
        }
        void this.serial(() => this.receivePush(push)).catch((err: unknown) => {
          this.log.error({ err }, 'applying the pushed config failed unexpectedly');
        });
        return;
      }
      case 'configAck': {
        const ack = body.configAck;
        if (ack.applied) {
          this.peer = { version: ack.version, hash: ack.hash };
          this.peerError = null;
          if (this.push?.hash === ack.hash) this.push.refused = false;
          if (ack.keptAside) this.log.warn({ keptAside: ack.keptAside }, 'the peer kept its diverged config aside and runs ours');
        } else {
          this.peerError = ack.error;
          if (this.push?.hash === ack.hash) this.push = { ...this.push, atMs: nowMs, refused: true };
          this.opts.metrics.configPush('tx', 'refused');
          this.log.error({ version: ack.version, error: ack.error }, 'the peer refused our config');
        }
        this.updateMetrics();
        const waiter = this.ackWaiters.get(ack.hash);
        this.ackWaiters.delete(ack.hash);
        waiter?.(
          ack.applied
            ? { synced: true, message: `the peer runs v${ack.version}`, ...(ack.keptAside ? { keptAside: ack.keptAside } : {}) }
            : { synced: false, message: `the peer refused it: ${ack.error}` },
        );
        return;
      }
      default:
        return;
    }
  }

  // ---- internals ----

  private async receivePush(push: ConfigPush): Promise<void> {
    const ack = (applied: boolean, error = '', keptAside = '', version = push.version, hash = push.hash) =>
      this.send({
        kind: 'configAck',
        configAck: { version, hash, applied, error: clipString(error, ERROR_MAX), keptAside: clipString(keptAside, REASON_MAX) },
      });
    const refuse = (reason: string, why: string): void => {
      this.peerError = why;
      this.opts.metrics.configPush('rx', reason);
      this.log.error({ version: push.version, from: push.committedBy, why }, 'refused the config pushed by the peer');
      ack(false, why);
    };
    if (this.view().state === 'active') {
      refuse('refused', 'this box is active too: an active box does not take config from its peer (two actives: check the HA1 links)');
      return;
    }
    const valid = await this.validator.validateSharedJson(push.sharedJson);
    if (!valid.ok) {
      refuse('invalid', `it does not fit this box: ${valid.issues.map((i) => `${i.path}: expected ${i.expected}`).join('; ')}`);
      return;
    }
    const hash = valid.hash;
    if (hash !== push.hash) {
      refuse('malformed', `its content hashes to ${hash}, not the ${push.hash} it claims (different software versions?)`);
      return;
    }
    const decision = decidePush(this.record, push);
    if (decision.kind === 'same') {
      if (push.version !== this.record.version || this.record.origin !== 'peer') {
        // same content under the peer's number: adopt it so both report one version
        const rec = recordFromPush(push, valid.shared, hash);
        await this.opts.store.saveAsync(rec);
        this.record = rec;
      }
      this.peerError = null;
      this.opts.metrics.configPush('rx', 'same');
      this.updateMetrics();
      ack(true);
      return;
    }
    let keptAside = '';
    if (decision.diverged) {
      const entry = await this.opts.store.keepAsideAsync(this.record, `diverged: replaced by v${push.version} (${push.hash}) pushed by ${push.committedBy}`);
      this.keptAside.unshift(entry);
      keptAside = entry.file;
      this.log.warn(
        { event: 'config-diverged', version: this.record.version, hash: this.record.hash, origin: this.record.origin, keptAside, peerVersion: push.version },
        `our config v${this.record.version} diverged from the active's v${push.version}: kept aside in ${keptAside}`,
      );
    }
    try {
      await this.applyAndPersist(recordFromPush(push, valid.shared, hash));
    } catch (err) {
      refuse('apply-failed', (err as Error).message);
      return;
    }
    this.peerError = null;
    this.opts.metrics.configPush('rx', 'applied');
    this.log.info(
      { event: 'config-received', version: push.version, hash: push.hash, from: push.committedBy },
      `applied shared config v${push.version} from the peer`,
    );
    this.updateMetrics();
    ack(true, '', keptAside);
  }

  /** Apply, then persist; a failed persist puts the previous config back, so disk and box agree. */
  private async applyAndPersist(rec: ConfigRecord): Promise<{ restartRequired: string[]; sessionsRemoved: number }> {
    const previous = this.record;
    let outcome;
    try {
      outcome = await this.opts.apply(rec.shared);
    } catch (err) {
      throw new ConfigApplyError(`the new config was not applied (the previous one still runs): ${(err as Error).message}`, { cause: err });
    }
    try {
      await this.opts.store.saveAsync(rec);
    } catch (err) {
      await this.opts.apply(previous.shared).catch((e: unknown) => this.log.error({ err: e }, 'could not put the previous config back'));
      throw new ConfigApplyError(`the new config could not be saved in the state dir (the previous one runs again): ${(err as Error).message}`, { cause: err });
    }
    this.record = rec;
    this.restartRequired = outcome.restartRequired;
    if (outcome.restartRequired.length > 0)
      this.log.warn({ restartRequired: outcome.restartRequired }, 'some changes take effect only when the daemon restarts');
    this.updateMetrics();
    this.link?.announce();
    return { restartRequired: outcome.restartRequired, sessionsRemoved: outcome.sessionsRemoved };
  }

  private pushAndWait(rec: ConfigRecord): Promise<PeerSyncResult> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.ackWaiters.delete(rec.hash);
        resolve({ synced: false, message: `no answer from the peer within ${PEER_ACK_TIMEOUT_MS} ms: it is pushed again with the next hello` });
      }, PEER_ACK_TIMEOUT_MS);
      this.ackWaiters.set(rec.hash, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      if (!this.sendPush(rec, performance.now())) {
        clearTimeout(timer);
        this.ackWaiters.delete(rec.hash);
        resolve({ synced: false, message: 'no HA1 session is up: it is pushed when one is' });
      }
    });
  }

  private sendPush(rec: ConfigRecord, nowMs: number): boolean {
    this.push = { hash: rec.hash, atMs: nowMs, refused: false };
    const ok = this.send({ kind: 'configPush', configPush: this.pushBody(rec, 0) });
    this.opts.metrics.configPush('tx', ok ? 'sent' : 'no-session');
    if (ok) this.log.info({ version: rec.version, hash: rec.hash }, `pushing shared config v${rec.version} to the peer`);
    return ok;
  }

  private pushBody(rec: ConfigRecord, requestId: number): ConfigPush {
    return {
      version: rec.version,
      hash: rec.hash,
      sharedJson: JSON.stringify(rec.shared),
      lineage: rec.lineage,
      committedAtMs: Date.parse(rec.committedAt),
      committedBy: clipString(rec.committedBy, NAME_MAX),
      requestId,
    };
  }

  private peerResultNow(): PeerSyncResult {
    if (!this.view().peerUp) return { synced: false, message: 'the peer is down' };
    return this.inSync()
      ? { synced: true, message: `the peer runs v${this.peer!.version}` }
      : { synced: false, message: 'the peer runs another config; it is pushed with the next hello' };
  }

  private view(): { state: HaState; peerUp: boolean; peerName: string | null } {
    return this.link?.view() ?? { state: 'initial', peerUp: false, peerName: null };
  }

  private send(body: EnvelopeBody): boolean {
    return this.link?.send(body) ?? false;
  }

  private updateMetrics(): void {
    this.opts.metrics.setConfig(this.record.version, this.record.hash, this.inSync(), this.keptAside.length);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    this.serialPending++;
    const run = this.serialTail.then(fn, fn).finally(() => this.serialPending--);
    this.serialTail = run.catch(() => undefined);
    return run;
  }
}

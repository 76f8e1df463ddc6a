// The config validation thread (see config-validator.ts for why it exists).
import { parentPort, workerData } from 'node:worker_threads';
import { ConfigError } from '../config/errors.js';
import type { DeviceConfig } from '../config/types.js';
import { inlineParse, inlineValidateShared, type ValidatorReply, type ValidatorRequest } from './config-validator.js';

const { device, configPath } = workerData as { device: DeviceConfig; configPath?: string };

parentPort!.on('message', (req: ValidatorRequest) => {
  let reply: ValidatorReply;
  try {
    reply =
      req.op === 'parse-commit'
        ? { id: req.id, ok: true, parsed: inlineParse(req.text, req.source, device, configPath) }
        : { id: req.id, ok: true, shared: inlineValidateShared(req.json, device) };
  } catch (err) {
    reply =
      err instanceof ConfigError
        ? { id: req.id, ok: false, issues: err.issues, source: err.source }
        : { id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) };
  }
  parentPort!.postMessage(reply);
});

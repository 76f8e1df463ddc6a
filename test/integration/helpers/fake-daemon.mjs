#!/usr/bin/env node
// A stand-in for `tandem run` that only plays the HA roles through the management API, so the
// lab's orchestration (up, kill -9, takeover, restart, down) can be tested without the real
// daemon. It forwards nothing. Usage: node fake-daemon.mjs --config /run/tandem-lab/N/fwa.yaml
//
// Election by asking the peer's API socket (a sibling file in the run dir): a box whose peer
// does not answer is active; a box whose peer is active is passive; two actives: the higher
// device id yields.
import { createServer, request } from 'node:http';
import { readFileSync, unlinkSync, existsSync } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parse } from 'yaml';

const configPath = process.argv[process.argv.indexOf('--config') + 1];
const dir = dirname(configPath);
const box = basename(configPath, '.yaml');
const peerBox = box === 'fwa' ? 'fwb' : 'fwa';
const config = parse(readFileSync(configPath, 'utf8'));
const sock = (listen) => resolve(dir, listen.slice('unix:'.length));
const apiPath = sock(config.device.api.listen);
const peerPath = resolve(dir, `${peerBox}-api.sock`);
const token = readFileSync(resolve(dir, config.device.api.tokenFile), 'utf8').trim();
const id = config.device.id;

let state = 'initial';
let reason = 'starting';
const log = (msg, extra = {}) => process.stdout.write(`${JSON.stringify({ time: new Date().toISOString(), box, msg, state, reason, ...extra })}\n`);
const setState = (s, r) => {
  if (s === state) return;
  log(`${state} -> ${s}`, { reason: r });
  state = s;
  reason = r;
};

function peerState() {
  return new Promise((res) => {
    const req = request({ socketPath: peerPath, path: '/v1/status', headers: { Authorization: `Bearer ${token}` }, timeout: 200 }, (r) => {
      let body = '';
      r.on('data', (d) => (body += d));
      r.on('end', () => {
        try {
          res(JSON.parse(body).local.state);
        } catch {
          res(null);
        }
      });
    });
    req.on('error', () => res(null));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

const server = createServer((req, res) => {
  if (req.headers.authorization !== `Bearer ${token}`) {
    res.writeHead(401, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'bad token' } }));
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ local: { id, name: config.device.name, state, reason, faults: [] }, peer: { id: 1 - id, up: false }, fake: true }));
});
if (existsSync(apiPath)) unlinkSync(apiPath); // stale socket of a killed predecessor
server.listen(apiPath, () => log('fake daemon listening', { api: apiPath }));

setTimeout(
  function tick() {
    void peerState().then((peer) => {
      if (state === 'initial') setState(peer === 'active' ? 'passive' : 'active', peer === 'active' ? 'peer-active' : 'peer-silent');
      else if (state === 'passive' && peer === null) setState('active', 'peer-dead');
      else if (state === 'active' && peer === 'active' && id === 1) setState('passive', 'split-brain-yield');
      setTimeout(tick, 20);
    });
  },
  300 + id * 200,
);

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

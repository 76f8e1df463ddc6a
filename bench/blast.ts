// A UDP blaster for the benches: as many 64-byte frames (18-byte payload) as one core can push,
// to saturate the dataplane. Standalone, run inside a lab namespace:
//   ip netns exec N-client node dist/bench/blast.js --to 10.0.2.10:5999 --duration-s 60 [--lab MARKER]
// Prints {"sent": N, "durationMs": D} on exit. Bounded by --duration-s and SIGTERM.
import { createSocket } from 'node:dgram';

const args = new Map<string, string>();
for (let i = 2; i < process.argv.length; i += 2) args.set(process.argv[i].replace(/^--/, ''), process.argv[i + 1] ?? '');
const [host, portText] = (args.get('to') ?? '').split(':');
const port = Number(portText);
const durationS = Number(args.get('duration-s') ?? '10');
if (!host || !(port > 0 && port < 65536) || !(durationS > 0 && durationS <= 3600)) {
  console.error('usage: blast.js --to IP:PORT --duration-s S');
  process.exit(2);
}

const socket = createSocket('udp4');
const payload = Buffer.alloc(18, 0x42);
let sent = 0;
let inFlight = 0;
let stopped = false;
const start = performance.now();
/** Sends outstanding at once: keeps the socket busy without letting libuv's queue grow unbounded. */
const MAX_IN_FLIGHT = 512;

function pump(): void {
  if (stopped) return;
  while (inFlight < MAX_IN_FLIGHT) {
    inFlight++;
    socket.send(payload, port, host, () => {
      inFlight--;
      sent++;
    });
  }
  setImmediate(pump);
}

function finish(): void {
  if (stopped) return;
  stopped = true;
  console.log(JSON.stringify({ sent, durationMs: Math.round(performance.now() - start) }));
  socket.close();
  process.exit(0);
}

socket.on('error', () => undefined);
process.on('SIGTERM', finish);
process.on('SIGINT', finish);
setTimeout(finish, durationS * 1000);
pump();

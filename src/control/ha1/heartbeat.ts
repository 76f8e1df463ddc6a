// Heartbeats: one small authenticated UDP datagram per interval on each HA1 link. Each datagram
// stands alone, so a lost one never delays the next (a TCP stream would stall behind a
// retransmission for 200 ms or more, longer than the whole aggressive dead interval).
import { createSocket, type Socket } from 'node:dgram';
import type { Logger } from '../../log.js';
import { familyOf, sameAddress } from '../../net/family.js';

export interface HeartbeatSocketOptions {
  local: string;
  peer: string;
  port: number;
  /** Called with each datagram that came from the peer's address and port. */
  onDatagram: (msg: Buffer) => void;
  /** Called for datagrams from anyone else (counted as rejected by the caller). */
  onForeign: () => void;
  log: Logger;
}

export class HeartbeatSocket {
  private socket: Socket | null = null;
  private sendErrors = 0;

  constructor(private readonly opts: HeartbeatSocketOptions) {}

  async open(): Promise<void> {
    // the link's family is its local address's (checks.ts keeps both ends of a link of one family)
    const socket = createSocket({ type: familyOf(this.opts.local) === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      if (rinfo.port !== this.opts.port || !sameAddress(rinfo.address, this.opts.peer)) {
        this.opts.onForeign();
        return;
      }
      this.opts.onDatagram(msg);
    });
    socket.on('error', (err) => this.opts.log.warn({ err: err.message }, 'heartbeat socket error'));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: this.opts.local, port: this.opts.port, exclusive: true }, () => {
        socket.off('error', reject);
        resolve();
      });
    });
  }

  /** Fire and forget: a datagram that cannot be sent now is simply a missed heartbeat. */
  send(datagram: Buffer): void {
    const socket = this.socket;
    if (!socket) return;
    socket.send(datagram, this.opts.port, this.opts.peer, (err) => {
      if (err && this.sendErrors++ % 1000 === 0) {
        // Rate-limited: a link that is down fails every send, every interval.
        this.opts.log.debug({ err: err.message, sendErrors: this.sendErrors }, 'heartbeat send failed');
      }
    });
  }

  close(): void {
    this.socket?.close();
    this.socket = null;
  }
}

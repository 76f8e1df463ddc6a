// The `pcap` backend (io.ts): the only file that touches `cap` (libpcap). cap is patched at install
// (patches/cap+0.2.1.patch) so that a capture error (the device went down or away) is an 'error'
// event instead of an abort; it becomes the handle's onError. Facts from DESIGN.md "The `cap` binding" shape it:
// - cap keeps a raw pointer to the Buffer given to open(): every such Buffer, and every Cap
//   object (also after close(), whose libuv handle is not unregistered), is kept in `retained`
//   for the life of the process.
// - one reused Buffer per handle: the pipeline rewrites and sends synchronously from it and
//   copies only what it keeps (the ARP queue).
// - a 10 MB kernel buffer per handle (every frame takes a ~1600-byte slot: ~6,500 frames).
// - the filter drops frames whose source is one of our own MACs, so a handle does not see what
//   it, another handle or the kernel sent on the same device. libpcap's `inbound` would say the
//   same more simply, but with it the first frame after opening is lost (measured with cap 0.2.1
//   and libpcap 1.10 on veth: 4 of 5 probes, the first always missing), and that first frame is
//   typically a host's ARP for the floating IP, which then waits a full second for its retry.
// - VLANs: the kernel runs the filter on the frame without its outer tag (it took the tag out on
//   receive), so `ether src` and `arp` match a trunk's tagged frames too; libpcap then writes the
//   tag back into the frame it delivers, where the engine's demultiplexer finds it (vlan.ts).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { networkInterfaces } from 'node:os';
import { adminUp, readDevice, type DeviceFacts } from '../net/link.js';
import type { DataplaneIo, FrameHandler, OpenOptions, Port } from './io.js';
import { parseMac } from './packet.js';
import { VLAN_HLEN, writeTagged } from './vlan.js';

interface CapHandle {
  open(device: string, filter: string, bufSize: number, buffer: Buffer): string;
  on(event: 'packet', cb: (nbytes: number, truncated: boolean) => void): void;
  on(event: 'error', cb: (err: Error & { code?: string }) => void): void;
  send(buffer: Uint8Array, nBytes?: number): void;
  close(): void;
}

interface CapModule {
  Cap: new () => CapHandle;
}

/** 10 MB per handle: at 800 kpps a 1 MB buffer lost ~6 % (DESIGN.md). */
export const CAPTURE_BUFFER_BYTES = 10 * 1024 * 1024;
/** Largest frame a handle delivers whole (a jumbo frame fits; GSO super-frames are truncated). */
export const FRAME_BUFFER_BYTES = 65_535;
/**
 * libpcap filter: every frame except those sourced from our own MACs (see the header), but ARP
 * from `sharedMacs` (the virtual MAC, which the peer uses too) still comes in: the new active's
 * gratuitous ARP is how a box handing over knows the switches have moved.
 */
export function captureFilter(ownMacs: readonly Uint8Array[], sharedMacs: readonly Uint8Array[] = []): string {
  const own = ownMacs.map((m) => `not ether src ${macText(m)}`).join(' and ');
  if (sharedMacs.length === 0 || own === '') return own;
  return `(${own}) or (arp and (${sharedMacs.map((m) => `ether src ${macText(m)}`).join(' or ')}))`;
}

/**
 * libuv reports the poll error of a device that went down or away as EBADF (cap's only code for
 * it): say what the kernel says of the device instead, as the ring backend's socket error does.
 */
function pcapErrorCode(device: string, code: string | undefined): string {
  if (code !== undefined && code !== 'EBADF') return code;
  const facts = readDevice(device);
  if (facts === null) return 'ENODEV';
  if (!adminUp(facts)) return 'ENETDOWN';
  return code ?? 'EPCAP';
}

function macText(m: Uint8Array): string {
  return [...m].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** Cap objects and their Buffers, held until the process exits. Never shrinks. */
const retained: unknown[] = [];

let capModule: CapModule | undefined;
function loadCap(): CapModule {
  capModule ??= createRequire(import.meta.url)('cap') as CapModule;
  return capModule;
}

export class CapIo implements DataplaneIo {
  readonly kind = 'pcap' as const;

  open(device: string, onFrame: FrameHandler, opts: OpenOptions = {}): Port {
    const ownMacs = opts.ownMacs ?? [];
    const sharedMacs = opts.sharedMacs ?? [];
    const { Cap } = loadCap();
    const cap = new Cap();
    const buffer = Buffer.alloc(FRAME_BUFFER_BYTES);
    retained.push(cap, buffer);
    const linkType = cap.open(device, captureFilter(ownMacs, sharedMacs), CAPTURE_BUFFER_BYTES, buffer);
    if (linkType !== 'ETHERNET') {
      cap.close();
      throw new Error(`device ${device} has link type ${linkType}, expected ETHERNET`);
    }
    // libpcap writes a VLAN tag the kernel took out back into the frame: the demultiplexer finds it there (vlan.ts)
    cap.on('packet', (nbytes, truncated) => onFrame(buffer, nbytes > buffer.length ? buffer.length : nbytes, truncated, 0));
    // a VLAN interface's frames are tagged in a copy: cap sends synchronously from the buffer it is given
    const tagged = Buffer.alloc(FRAME_BUFFER_BYTES + VLAN_HLEN);
    retained.push(tagged);
    let errored = false;
    cap.on('error', (err) => {
      if (errored) return;
      errored = true;
      opts.onError?.({ code: pcapErrorCode(device, err.code), message: err.message });
    });
    let closed = false;
    return {
      send(frame: Uint8Array, len: number, tci = 0): boolean {
        if (closed || len > FRAME_BUFFER_BYTES) return false;
        try {
          if (tci !== 0) cap.send(tagged, writeTagged(tagged, 0, frame, len, tci));
          else cap.send(frame, len);
          return true;
        } catch {
          return false;
        }
      },
      close(): void {
        if (closed) return;
        closed = true;
        cap.close();
      },
    };
  }

  macOf(device: string): Uint8Array {
    try {
      return parseMac(readFileSync(`/sys/class/net/${device}/address`, 'utf8'));
    } catch {
      const nif = networkInterfaces()[device];
      const mac = nif?.find((a) => a.mac && a.mac !== '00:00:00:00:00:00')?.mac;
      if (!mac) throw new Error(`cannot read the MAC address of device ${device}`);
      return parseMac(mac);
    }
  }

  device(name: string): DeviceFacts | null {
    return readDevice(name);
  }

  mtuOf(device: string): number {
    try {
      const mtu = parseInt(readFileSync(`/sys/class/net/${device}/mtu`, 'utf8'), 10);
      return Number.isFinite(mtu) && mtu > 0 ? mtu : 1500;
    } catch {
      return 1500;
    }
  }
}

// Timestamps out of a classic pcap file (what `tcpdump -w` writes): the record headers, and of
// each frame only the byte that tells a virtual MAC's class. Pure: a Buffer in, numbers out.
//
//   global header (24 bytes): magic u32, version u16 u16, thiszone i32, sigfigs u32, snaplen u32, linktype u32
//   record header (16 bytes): ts_sec u32, ts_frac u32 (us, or ns with the nanosecond magic), incl_len u32, orig_len u32

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const GLOBAL_HEADER = 24;
const RECORD_HEADER = 16;
/** A record longer than this is corruption, not a frame (tcpdump's own limit is 262144). */
const MAX_RECORD = 262_144;

export interface PcapTimes {
  /** Epoch microseconds of every complete record, in file order. */
  timesUs: number[];
  /** The file ended inside a record (a capture killed mid-write): that record is left out. */
  truncated: boolean;
}

export interface PcapFrames extends PcapTimes {
  /**
   * Per record, the frame's byte 9 (the fourth byte of its source MAC: a virtual MAC's class code,
   * 02:74:64:<c>:..); -1 when the record holds fewer bytes.
   */
  srcMacByte3: number[];
}

export function pcapTimesUs(buf: Buffer): PcapTimes {
  const { timesUs, truncated } = pcapFrames(buf);
  return { timesUs, truncated };
}

/** SRC_MAC_BYTE3: Ethernet destination (6 bytes), then the source's bytes 0..3. */
const SRC_MAC_BYTE3 = 9;

export function pcapFrames(buf: Buffer): PcapFrames {
  // a capture stopped before its first flush can be empty: no frames
  if (buf.length < GLOBAL_HEADER) return { timesUs: [], srcMacByte3: [], truncated: buf.length > 0 };
  let le: boolean;
  let nano: boolean;
  const m = buf.readUInt32LE(0);
  if (m === MAGIC_US || m === MAGIC_NS) {
    le = true;
    nano = m === MAGIC_NS;
  } else {
    const mb = buf.readUInt32BE(0);
    if (mb !== MAGIC_US && mb !== MAGIC_NS) throw new Error(`not a pcap file (magic 0x${m.toString(16)})`);
    le = false;
    nano = mb === MAGIC_NS;
  }
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  const timesUs: number[] = [];
  const srcMacByte3: number[] = [];
  let off = GLOBAL_HEADER;
  while (off + RECORD_HEADER <= buf.length) {
    const sec = u32(off);
    const frac = u32(off + 4);
    const incl = u32(off + 8);
    if (incl > MAX_RECORD) throw new Error(`pcap record at byte ${off} claims ${incl} bytes: corrupt file`);
    if (off + RECORD_HEADER + incl > buf.length) return { timesUs, srcMacByte3, truncated: true };
    timesUs.push(sec * 1e6 + (nano ? Math.floor(frac / 1000) : frac));
    srcMacByte3.push(incl > SRC_MAC_BYTE3 ? buf[off + RECORD_HEADER + SRC_MAC_BYTE3] : -1);
    off += RECORD_HEADER + incl;
  }
  return { timesUs, srcMacByte3, truncated: off !== buf.length };
}

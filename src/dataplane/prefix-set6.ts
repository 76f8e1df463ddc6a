// Per-rule lists of IPv6 prefixes for first-match lookups (policy.ts): every rule's prefixes in
// flat typed arrays, 4 words of network and 4 of mask each, so a lookup allocates nothing. The
// IPv6 half of a rule's source or destination list; its IPv4 entries stay with policy.ts.
import { ANY_ADDRESS, isIpv6Text } from '../net/family.js';
import { parseCidr6 } from '../net/ipv6.js';

export class PrefixSet6 {
  /** Rule r's prefixes are entries start[r] .. start[r + 1] of net and mask (4 words per entry). */
  private readonly start: Int32Array;
  private readonly net: Uint32Array;
  private readonly mask: Uint32Array;

  /** lists[r]: rule r's addresses as the config has them; entries that are not IPv6 are skipped. */
  constructor(lists: readonly (readonly string[])[]) {
    this.start = new Int32Array(lists.length + 1);
    const nets: number[] = [];
    const masks: number[] = [];
    lists.forEach((list, r) => {
      this.start[r] = nets.length / 4;
      for (const text of list) {
        if (text !== ANY_ADDRESS && !isIpv6Text(text)) continue;
        const { prefix } = parseCidr6(text === ANY_ADDRESS ? '::/0' : text.includes('/') ? text : `${text}/128`);
        nets.push(...prefix.network);
        masks.push(...prefix.mask);
      }
    });
    this.start[lists.length] = nets.length / 4;
    this.net = Uint32Array.from(nets);
    this.mask = Uint32Array.from(masks);
  }

  /** Rule r has at least one IPv6 prefix. */
  any(r: number): boolean {
    return this.start[r + 1] > this.start[r];
  }

  /** The address at `off` of `words` lies in one of rule r's prefixes. */
  has(r: number, words: ArrayLike<number>, off: number): boolean {
    const net = this.net;
    const mask = this.mask;
    const end = this.start[r + 1] * 4;
    for (let i = this.start[r] * 4; i < end; i += 4) {
      if (
        (words[off] & mask[i]) >>> 0 === net[i] &&
        (words[off + 1] & mask[i + 1]) >>> 0 === net[i + 1] &&
        (words[off + 2] & mask[i + 2]) >>> 0 === net[i + 2] &&
        (words[off + 3] & mask[i + 3]) >>> 0 === net[i + 3]
      )
        return true;
    }
    return false;
  }
}

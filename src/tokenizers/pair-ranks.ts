/**
 * The BPE merge table: (left id, right id) → rank of their merge, as an open-addressing hash
 * table on three Int32Arrays (linear probing, power-of-two capacity, load ≤ 1/2).
 *
 * Why not a `Map<number, number>` keyed by left·V + right: for a 50k vocabulary that key passes
 * 2^31, so every key is a heap number; building 50k of them cost ~0.1 s at load (allocation and
 * GC) and every lookup in the merge loop hashed a double. Here a build is one pass over typed
 * arrays and a lookup is two multiplies and (almost always) one probe.
 */
export class PairRanks {
  private readonly mask: number;
  private readonly lefts: Int32Array;
  private readonly rights: Int32Array;
  /** rank of the pair in the slot, or -1 for an empty slot. */
  private readonly ranks: Int32Array;

  /** A table for up to `pairs` pairs. */
  constructor(pairs: number) {
    let capacity = 16;
    while (capacity < 2 * pairs) capacity *= 2;
    this.mask = capacity - 1;
    this.lefts = new Int32Array(capacity);
    this.rights = new Int32Array(capacity);
    this.ranks = new Int32Array(capacity).fill(-1);
  }

  /** Adds (left, right) → rank unless the pair is already there (a duplicated merge keeps its first rank, as in Hugging Face). */
  insert(left: number, right: number, rank: number): void {
    for (let slot = slotOf(left, right, this.mask); ; slot = (slot + 1) & this.mask) {
      const found = this.ranks[slot];
      if (found === -1) {
        this.lefts[slot] = left;
        this.rights[slot] = right;
        this.ranks[slot] = rank;
        return;
      }
      if (this.lefts[slot] === left && this.rights[slot] === right) return;
    }
  }

  /** Rank of the merge of (left, right), or -1 when the pair has none. */
  get(left: number, right: number): number {
    for (let slot = slotOf(left, right, this.mask); ; slot = (slot + 1) & this.mask) {
      const rank = this.ranks[slot];
      if (rank === -1 || (this.lefts[slot] === left && this.rights[slot] === right)) return rank;
    }
  }
}

/** Multiplicative hash of the pair (two odd 32-bit constants, high bits folded down). */
function slotOf(left: number, right: number, mask: number): number {
  let h = Math.imul(left, 0x9e3779b1) ^ Math.imul(right + 0x7f4a7c15, 0x85ebca77);
  h ^= h >>> 15;
  return h & mask;
}

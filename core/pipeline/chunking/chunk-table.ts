import type { ChunkLocation } from '../../domain/snapshot-format.js';

const ID_BYTES = 32;
/** Rehash the slot array past this fill: linear probing stays short (≤ 8.5 probes for a miss on average). */
const MAX_LOAD = 0.75;
const NO_ENTRY = 0;

/**
 * Which chunks a run can reference without storing them again: the base snapshot's chunks and the
 * ones this run stored, by 32-byte chunk id. A 10 GB dump is ~660,000 chunks (16 KiB average), so this is flat
 * typed arrays, not a Map of hex strings (which costs ~10× the memory): entries laid end to end
 * (id, interned pack, offset, stored and raw length: 48 bytes each), and an open-addressing slot
 * array (4 bytes per slot) pointing into them.
 *
 * Offsets and lengths must fit in 32 bits (packs are ~32 MiB); `set` throws `RangeError` otherwise.
 */
export class ChunkTable {
  private ids: Buffer;
  private packs: Uint32Array;
  private offsets: Uint32Array;
  private storedLengths: Uint32Array;
  private rawLengths: Uint32Array;
  /** Entry number + 1 per slot, `NO_ENTRY` for a free slot. Length is a power of two. */
  private slots: Uint32Array;
  private readonly packNames: string[] = [];
  private readonly packNumbers = new Map<string, number>();
  private count = 0;

  /** @param expectedEntries how many entries to make room for at once (e.g. the base index's chunk count): saves regrowing. */
  constructor(expectedEntries = 1024) {
    const capacity = Math.max(16, Math.ceil(expectedEntries));
    this.ids = Buffer.alloc(capacity * ID_BYTES);
    this.packs = new Uint32Array(capacity);
    this.offsets = new Uint32Array(capacity);
    this.storedLengths = new Uint32Array(capacity);
    this.rawLengths = new Uint32Array(capacity);
    this.slots = new Uint32Array(slotCountFor(capacity));
  }

  get size(): number {
    return this.count;
  }

  /** Adds `id`, or moves it to `location` when present. */
  set(id: Buffer, location: ChunkLocation): void {
    checkId(id);
    for (const value of [location.offset, location.storedLength, location.rawLength]) {
      if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`chunk location values must be 32-bit counts, got ${value}`);
    }
    let slot = this.find(id);
    let entry = this.slots[slot]! - 1;
    if (entry < 0) {
      if (this.count === this.packs.length) this.growEntries();
      if ((this.count + 1) > this.slots.length * MAX_LOAD) {
        this.growSlots();
        slot = this.find(id);
      }
      entry = this.count++;
      id.copy(this.ids, entry * ID_BYTES, 0, ID_BYTES);
      this.slots[slot] = entry + 1;
    }
    this.packs[entry] = this.packNumber(location.pack);
    this.offsets[entry] = location.offset;
    this.storedLengths[entry] = location.storedLength;
    this.rawLengths[entry] = location.rawLength;
  }

  get(id: Buffer): ChunkLocation | undefined {
    checkId(id);
    const entry = this.slots[this.find(id)]! - 1;
    if (entry < 0) return undefined;
    return { pack: this.packNames[this.packs[entry]!]!, offset: this.offsets[entry]!, storedLength: this.storedLengths[entry]!, rawLength: this.rawLengths[entry]! };
  }

  has(id: Buffer): boolean {
    checkId(id);
    return this.slots[this.find(id)] !== NO_ENTRY;
  }

  /** Bytes held by the table's arrays and pack names (what a run's memory budget counts). */
  memoryBytes(): number {
    const names = this.packNames.reduce((sum, name) => sum + 2 * name.length + 64, 0);
    return this.ids.length + this.packs.byteLength + this.offsets.byteLength + this.storedLengths.byteLength + this.rawLengths.byteLength + this.slots.byteLength + names;
  }

  /** The slot holding `id`, or the free slot where it would go. */
  private find(id: Buffer): number {
    const mask = this.slots.length - 1;
    let slot = slotHash(id, 0) >>> slotShift(this.slots.length);
    for (;;) {
      const entry = this.slots[slot]!;
      if (entry === NO_ENTRY) return slot;
      const at = (entry - 1) * ID_BYTES;
      if (this.ids.compare(id, 0, ID_BYTES, at, at + ID_BYTES) === 0) return slot;
      slot = (slot + 1) & mask;
    }
  }

  private packNumber(pack: string): number {
    let number = this.packNumbers.get(pack);
    if (number === undefined) {
      number = this.packNames.push(pack) - 1;
      this.packNumbers.set(pack, number);
    }
    return number;
  }

  /** Grows the entry arrays by half: doubling would leave up to half of the largest arrays unused. */
  private growEntries(): void {
    const capacity = Math.ceil(this.packs.length * 1.5);
    const ids = Buffer.alloc(capacity * ID_BYTES);
    this.ids.copy(ids);
    this.ids = ids;
    this.packs = grown(this.packs, capacity);
    this.offsets = grown(this.offsets, capacity);
    this.storedLengths = grown(this.storedLengths, capacity);
    this.rawLengths = grown(this.rawLengths, capacity);
  }

  private growSlots(): void {
    this.slots = new Uint32Array(this.slots.length * 2);
    const mask = this.slots.length - 1;
    const shift = slotShift(this.slots.length);
    for (let entry = 0; entry < this.count; entry++) {
      let slot = slotHash(this.ids, entry * ID_BYTES) >>> shift;
      while (this.slots[slot] !== NO_ENTRY) slot = (slot + 1) & mask;
      this.slots[slot] = entry + 1;
    }
  }
}

function checkId(id: Buffer): void {
  if (id.length !== ID_BYTES) throw new RangeError(`a chunk id is ${ID_BYTES} bytes, got ${id.length}`);
}

/**
 * A slot hash folding all of an id's 32 bytes. Chunk ids are HMAC outputs, uniform already; the
 * folding and the multiply (Fibonacci hashing: the slot is the product's high bits) spread ids
 * that are not (tests, hand-made ones) so they still probe short.
 */
function slotHash(bytes: Buffer, at: number): number {
  let hash = 0;
  for (let word = at; word < at + ID_BYTES; word += 4) hash = Math.imul(hash ^ bytes.readUInt32LE(word), 0x9e3779b1);
  return hash >>> 0;
}

/** How far to shift a 32-bit hash to keep the bits that number `slots` (a power of two) slots. */
function slotShift(slots: number): number {
  return Math.clz32(slots) + 1;
}

function slotCountFor(entries: number): number {
  let slots = 16;
  while (entries > slots * MAX_LOAD) slots *= 2;
  return slots;
}

function grown(array: Uint32Array, capacity: number): Uint32Array {
  const larger = new Uint32Array(capacity);
  larger.set(array);
  return larger;
}

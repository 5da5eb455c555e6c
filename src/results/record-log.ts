import { writeVarint32 } from '../args/wire-bytes';
import type { StatusCode } from '../errors';
import type { AttemptError, TaskRecord, TaskStatus } from './task-record';

/**
 * Finished task records, encoded into large Buffers outside the V8 heap, in the order they were stored,
 * with an open-addressing hash index (typed arrays) from task id to record.
 *
 * Why not JS objects in an LRU map: a small stored result cost ~273 B of live heap that way (record
 * object, id string, digest string, Map entry, LRU links), and V8 sizes its old space at several times
 * the live heap while allocation is fast: 1M results took ~1.1 GB of RSS (bench f). Here a small result
 * is ~100 B of Buffer plus ~17 B of index, none of it traced by the garbage collector.
 *
 * Records are appended to the newest chunk (1 MiB; a larger record gets a chunk of its own) and leave
 * from the oldest end, so eviction is "least recently stored first" and, since every record of a log
 * has the same TTL and the clock is monotonic, expired records are always a prefix of the log. A record
 * deleted or replaced in the middle is only marked dead; its bytes come back when the oldest end
 * passes it, and until then they count towards the byte bound (which bounds real memory).
 */

/** Record layout: a fixed header, then length-prefixed (LEB128) UTF-8 strings. All little-endian. */
const H_LENGTH = 0; // u32: bytes of the whole record
const H_HASH = 4; // u32: hash of the task id
const H_FLAGS = 8; // u8: status index | INJECT | DEAD | HAS_FAILURE | UUID_ID
const H_FAILURE_CODE = 9; // u8: TaskFailure.code
const H_ATTEMPTS = 10; // u16: attempts started (saturates at 65535)
const H_DEPS = 12; // u32: number of deps
const H_EXPIRES = 16; // f64: monotonic ms after which the record reads as absent
const H_SUBMITTED = 24; // f64: epoch ms
const H_STARTED = 32; // f64: epoch ms, NaN when absent
const H_FINISHED = 40; // f64: epoch ms, NaN when absent
const HEADER_BYTES = 48;
// Then: taskId (16 raw bytes with UUID_ID), method, argsDigest, result, failure message (empty without
// failure), retryKey, attempt errors as JSON (empty without), trace context (empty without), deps...

const STATUS_MASK = 7;
const INJECT = 8;
const DEAD = 16;
const HAS_FAILURE = 32;
/** The task id is a lowercase UUID (server-assigned ids are), kept as its 16 bytes instead of 36 + 1. */
const UUID_ID = 64;
const STATUSES: readonly TaskStatus[] = ['PENDING', 'RUNNING', 'SUCCESS', 'FAILED', 'CANCELLED'];

/** Size of a shared chunk, unless the log is built with a smaller one. */
export const CHUNK_BYTES = 1 << 20;
/** A record's reference: chunk slot × 2^32 + offset in the chunk (exact in a double). */
const SPAN = 2 ** 32;
const EMPTY = -1;
const MIN_INDEX_SLOTS = 1024;
const MAX_LOAD = 0.7;
const NO_DEPS: readonly string[] = Object.freeze([]);

/**
 * A 32-bit hash of the UTF-16 code units of `key`, two at a time (no encoding needed to look a key up):
 * FNV-1a's multiply, then a final avalanche so that linear probing sees well-mixed low bits.
 */
function hashOf(key: string): number {
  let hash = 0x811c9dc5 ^ key.length;
  const pairs = key.length & ~1;
  for (let i = 0; i < pairs; i += 2) hash = Math.imul(hash ^ (key.charCodeAt(i) | (key.charCodeAt(i + 1) << 16)), 0x01000193);
  if (pairs !== key.length) hash = Math.imul(hash ^ key.charCodeAt(pairs), 0x01000193);
  hash ^= hash >>> 15;
  hash = Math.imul(hash, 0x2c1b3c6d);
  hash ^= hash >>> 12;
  return hash >>> 0;
}

/** Reads the strings of one record in order; `at` is advanced as it goes. */
class StringReader {
  buf: Buffer = Buffer.alloc(0);
  at = 0;

  next(): string {
    const buf = this.buf;
    let length = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = buf[this.at++]!;
      length += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80);
    const start = this.at;
    this.at += length;
    return length === 0 ? '' : buf.toString('utf8', start, this.at);
  }
}

export class RecordLog {
  /** Chunk buffers by slot (undefined: slot free), bytes used in each, and free slots for reuse. */
  readonly #chunks: (Buffer | undefined)[] = [];
  readonly #chunkEnd: number[] = [];
  readonly #freeSlots: number[] = [];
  /** Chunk slots from oldest to newest: `#order[#orderHead]` holds the oldest record at `#headOffset`. */
  #order: number[] = [];
  #orderHead = 0;
  #headOffset = 0;
  #tail = EMPTY;
  /** One spare 1 MiB chunk kept for reuse, so a log cycling at its bound does not allocate. */
  #spare: Buffer | undefined;
  #bytes = 0;
  #recordBytes = 0;
  #live = 0;
  readonly #chunkBytes: number;

  #hashes = new Uint32Array(MIN_INDEX_SLOTS);
  #refs = new Float64Array(MIN_INDEX_SLOTS).fill(EMPTY);
  #mask = MIN_INDEX_SLOTS - 1;

  readonly #reader = new StringReader();

  /** `chunkBytes`: size of the shared chunks (default 1 MiB; smaller for a small byte bound). */
  constructor(chunkBytes = CHUNK_BYTES) {
    this.#chunkBytes = chunkBytes;
  }

  /** Live records. */
  get size(): number {
    return this.#live;
  }

  /**
   * Bytes of memory the log holds: every chunk it has allocated (and the spare one), however full —
   * what `--max-result-bytes` bounds, so the bound is the memory really used.
   */
  get bytes(): number {
    return this.#bytes;
  }

  /** Encoded bytes of the records from the oldest to the newest, dead ones included. */
  get recordBytes(): number {
    return this.#recordBytes;
  }

  /** The record stored under `taskId`, unless absent or expired at `now` (monotonic ms). */
  get(taskId: string, now: number): TaskRecord | undefined {
    const ref = this.#liveRef(taskId, now);
    return ref === EMPTY ? undefined : this.#decode(this.#chunkOf(ref), ref % SPAN);
  }

  /** Encoded bytes of the record stored under `taskId` (about its result's size), without decoding it; -1 when absent or expired. */
  bytesOf(taskId: string, now: number): number {
    const ref = this.#liveRef(taskId, now);
    return ref === EMPTY ? -1 : this.#chunkOf(ref).readUInt32LE((ref % SPAN) + H_LENGTH);
  }

  /** The reference of the record stored under `taskId`, or EMPTY when absent or expired at `now`. */
  #liveRef(taskId: string, now: number): number {
    const ref = this.#find(taskId, hashOf(taskId));
    if (ref === EMPTY || this.#chunkOf(ref).readDoubleLE((ref % SPAN) + H_EXPIRES) <= now) return EMPTY;
    return ref;
  }

  /**
   * Calls `visit` for every live record not expired at `now` (monotonic ms), oldest first, with the
   * fields its header holds; `load` decodes the whole record (only when the visitor needs it).
   */
  scan(now: number, visit: (submittedAt: number, status: TaskStatus, load: () => TaskRecord) => void): void {
    for (let i = this.#orderHead; i < this.#order.length; i++) {
      const slot = this.#order[i]!;
      const buf = this.#chunks[slot]!;
      const end = this.#chunkEnd[slot]!;
      for (let offset = i === this.#orderHead ? this.#headOffset : 0; offset < end; offset += buf.readUInt32LE(offset + H_LENGTH)) {
        const flags = buf[offset + H_FLAGS]!;
        if ((flags & DEAD) !== 0 || buf.readDoubleLE(offset + H_EXPIRES) <= now) continue;
        const at = offset;
        visit(buf.readDoubleLE(offset + H_SUBMITTED), STATUSES[flags & STATUS_MASK]!, () => this.#decode(buf, at));
      }
    }
  }

  /** Stores `record` (finished) as the newest, replacing any record of its id (expired or not). */
  put(record: TaskRecord, expiresAt: number): void {
    const hash = hashOf(record.taskId);
    this.#delete(record.taskId, hash);
    this.#append(record, hash, expiresAt);
  }

  /** Removes the record of `taskId` (expired or not); returns whether there was one. */
  delete(taskId: string): boolean {
    return this.#delete(taskId, hashOf(taskId));
  }

  #append(record: TaskRecord, hash: number, expiresAt: number): void {
    const failure = record.failure;
    const message = failure ? failure.message : '';
    const deps = record.deps;
    const attemptErrors = record.attemptErrors ? JSON.stringify(record.attemptErrors) : '';
    // Room for the worst case (3 UTF-8 bytes per UTF-16 unit, 5-byte lengths); the exact size is
    // known once written. Measuring first would cost a native call per string.
    const trace = record.trace ?? '';
    let chars = record.taskId.length + record.method.length + record.argsDigest.length + record.result.length + message.length + record.retryKey.length + attemptErrors.length + trace.length;
    for (let i = 0; i < deps.length; i++) chars += deps[i]!.length;
    const worst = HEADER_BYTES + 3 * chars + 5 * (8 + deps.length);
    let tail = this.#tail;
    if (tail === EMPTY || this.#chunkEnd[tail]! + worst > this.#chunks[tail]!.length) {
      // The worst case does not fit: measure the record (a native call per string, paid only here).
      // It may still fit the newest chunk; if not, it starts a new one — its own, of its exact size,
      // when larger than a shared chunk (sized for the worst case it would hold up to 3 times the
      // memory the byte bound counts).
      const exact = exactSize(record, message, attemptErrors, trace);
      if (tail === EMPTY || this.#chunkEnd[tail]! + exact > this.#chunks[tail]!.length) tail = this.#newChunk(exact);
    }
    const buf = this.#chunks[tail]!;
    const offset = this.#chunkEnd[tail]!;
    buf.writeUInt32LE(hash, offset + H_HASH);
    let at = offset + HEADER_BYTES;
    const uuid = writeUuid(buf, at, record.taskId);
    at = uuid ? at + 16 : writeString(buf, at, record.taskId);
    buf[offset + H_FLAGS] = STATUSES.indexOf(record.status) | (record.injectDependencyResults ? INJECT : 0) | (failure ? HAS_FAILURE : 0) | (uuid ? UUID_ID : 0);
    buf[offset + H_FAILURE_CODE] = failure ? failure.code : 0;
    buf.writeUInt16LE(Math.min(record.attempts, 0xffff), offset + H_ATTEMPTS);
    buf.writeUInt32LE(deps.length, offset + H_DEPS);
    buf.writeDoubleLE(expiresAt, offset + H_EXPIRES);
    buf.writeDoubleLE(record.submittedAt, offset + H_SUBMITTED);
    buf.writeDoubleLE(record.startedAt ?? NaN, offset + H_STARTED);
    buf.writeDoubleLE(record.finishedAt ?? NaN, offset + H_FINISHED);
    at = writeString(buf, at, record.method);
    at = writeString(buf, at, record.argsDigest);
    at = writeString(buf, at, record.result);
    at = writeString(buf, at, message);
    at = writeString(buf, at, record.retryKey);
    at = writeString(buf, at, attemptErrors);
    at = writeString(buf, at, trace);
    for (let i = 0; i < deps.length; i++) at = writeString(buf, at, deps[i]!);
    const size = at - offset;
    buf.writeUInt32LE(size, offset + H_LENGTH);
    this.#chunkEnd[tail] = at;
    this.#recordBytes += size;
    this.#live++;
    this.#index(hash, tail * SPAN + offset);
  }

  #delete(taskId: string, hash: number): boolean {
    const slot = this.#slotOf(taskId, hash);
    if (slot === EMPTY) return false;
    const ref = this.#refs[slot]!;
    const buf = this.#chunkOf(ref);
    const offset = ref % SPAN;
    buf[offset + H_FLAGS] = buf[offset + H_FLAGS]! | DEAD;
    this.#live--;
    this.#unindexSlot(slot);
    this.#skipDead();
    return true;
  }

  /** Drops the oldest live record (and dead ones around it); false when the log is empty. */
  evictOldest(): boolean {
    for (;;) {
      const dropped = this.#dropOldest(Infinity);
      if (dropped === undefined) return false;
      if (dropped) {
        this.#skipDead();
        return true;
      }
    }
  }

  /** Drops every record expired at `now`; returns how many live ones went. */
  purgeExpired(now: number): number {
    let purged = 0;
    for (;;) {
      const dropped = this.#dropOldest(now);
      if (dropped === undefined) break;
      if (dropped) purged++;
    }
    if (this.#live * 8 < this.#refs.length && this.#refs.length > MIN_INDEX_SLOTS) this.#resize(this.#refs.length >> 1);
    return purged;
  }

  /** Reclaims dead records at the oldest end at once. */
  #skipDead(): void {
    while (this.#deadAtHead() && this.#dropOldest(Infinity) === false);
  }

  #deadAtHead(): boolean {
    const slot = this.#oldestSlot();
    return slot !== EMPTY && (this.#chunks[slot]![this.#headOffset + H_FLAGS]! & DEAD) !== 0;
  }

  /**
   * The chunk slot holding the oldest record (at `#headOffset`), releasing used-up chunks on the way;
   * EMPTY when the log holds no record (then the newest chunk starts over).
   */
  #oldestSlot(): number {
    for (;;) {
      if (this.#tail === EMPTY) return EMPTY;
      const slot = this.#order[this.#orderHead]!;
      if (this.#headOffset < this.#chunkEnd[slot]!) return slot;
      if (slot === this.#tail) {
        this.#chunkEnd[slot] = 0;
        this.#headOffset = 0;
        return EMPTY;
      }
      this.#releaseOldestChunk();
    }
  }

  /**
   * Drops the oldest record if it expired at or before `before`: true when it was live, false when dead,
   * undefined when there was nothing to drop (empty log, or the oldest has not expired).
   */
  #dropOldest(before: number): boolean | undefined {
    const slot = this.#oldestSlot();
    if (slot === EMPTY) return undefined;
    const buf = this.#chunks[slot]!;
    const offset = this.#headOffset;
    if (before !== Infinity && buf.readDoubleLE(offset + H_EXPIRES) > before) return undefined;
    const size = buf.readUInt32LE(offset + H_LENGTH);
    const live = (buf[offset + H_FLAGS]! & DEAD) === 0;
    if (live) {
      this.#unindexRef(buf.readUInt32LE(offset + H_HASH), slot * SPAN + offset);
      this.#live--;
    }
    this.#headOffset += size;
    this.#recordBytes -= size;
    return live;
  }

  #releaseOldestChunk(): void {
    const slot = this.#order[this.#orderHead++]!;
    const buf = this.#chunks[slot]!;
    if (buf.length === this.#chunkBytes && !this.#spare) this.#spare = buf;
    else this.#bytes -= buf.length;
    this.#chunks[slot] = undefined;
    this.#freeSlots.push(slot);
    this.#headOffset = 0;
    if (this.#orderHead > 1024 && this.#orderHead * 2 > this.#order.length) {
      this.#order = this.#order.slice(this.#orderHead);
      this.#orderHead = 0;
    }
  }

  #newChunk(size: number): number {
    let buf: Buffer;
    if (size <= this.#chunkBytes && this.#spare) {
      buf = this.#spare;
      this.#spare = undefined;
    } else {
      buf = Buffer.allocUnsafeSlow(Math.max(size, this.#chunkBytes));
      this.#bytes += buf.length;
    }
    const slot = this.#freeSlots.pop() ?? this.#chunks.length;
    this.#chunks[slot] = buf;
    this.#chunkEnd[slot] = 0;
    this.#order.push(slot);
    this.#tail = slot;
    return slot;
  }

  /** The chunk of a record reference (its offset in the chunk is `ref % SPAN`). */
  #chunkOf(ref: number): Buffer {
    return this.#chunks[Math.floor(ref / SPAN)]!;
  }

  #decode(buf: Buffer, offset: number): TaskRecord {
    const reader = this.#reader;
    const flags = buf[offset + H_FLAGS]!;
    const taskId = this.#readId(buf, offset, flags);
    const method = reader.next();
    const argsDigest = reader.next();
    const result = reader.next();
    const message = reader.next();
    const retryKey = reader.next();
    const attemptErrors = reader.next();
    const trace = reader.next();
    const depCount = buf.readUInt32LE(offset + H_DEPS);
    let deps = NO_DEPS;
    if (depCount > 0) {
      const list = new Array<string>(depCount);
      for (let i = 0; i < depCount; i++) list[i] = reader.next();
      deps = list;
    }
    const startedAt = buf.readDoubleLE(offset + H_STARTED);
    const finishedAt = buf.readDoubleLE(offset + H_FINISHED);
    reader.buf = EMPTY_BUFFER;
    // Field order as in task-record.ts, so decoded records share the engine's hidden class.
    return {
      taskId,
      method,
      deps,
      argsDigest,
      injectDependencyResults: (flags & INJECT) !== 0,
      status: STATUSES[flags & STATUS_MASK]!,
      result,
      failure: (flags & HAS_FAILURE) !== 0 ? { code: buf[offset + H_FAILURE_CODE]! as StatusCode, message } : undefined,
      submittedAt: buf.readDoubleLE(offset + H_SUBMITTED),
      startedAt: Number.isNaN(startedAt) ? undefined : startedAt,
      finishedAt: Number.isNaN(finishedAt) ? undefined : finishedAt,
      retryKey,
      attempts: buf.readUInt16LE(offset + H_ATTEMPTS),
      attemptErrors: attemptErrors === '' ? undefined : (JSON.parse(attemptErrors) as AttemptError[]),
      runAfter: undefined,
      spec: undefined,
      trace: trace === '' ? undefined : trace,
      progress: undefined, // finished records keep none
    };
  }

  /** Reads the task id; leaves the reader after it. */
  #readId(buf: Buffer, offset: number, flags: number): string {
    const reader = this.#reader;
    reader.buf = buf;
    reader.at = offset + HEADER_BYTES;
    if ((flags & UUID_ID) === 0) return reader.next();
    reader.at += 16;
    return readUuid(buf, offset + HEADER_BYTES);
  }

  #idEquals(ref: number, taskId: string): boolean {
    const buf = this.#chunkOf(ref);
    const offset = ref % SPAN;
    const id = this.#readId(buf, offset, buf[offset + H_FLAGS]!);
    this.#reader.buf = EMPTY_BUFFER;
    return id === taskId;
  }

  /** The index slot holding `taskId`, or EMPTY. */
  #slotOf(taskId: string, hash: number): number {
    const hashes = this.#hashes;
    const refs = this.#refs;
    const mask = this.#mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const ref = refs[i]!;
      if (ref === EMPTY) return EMPTY;
      if (hashes[i] === hash && this.#idEquals(ref, taskId)) return i;
    }
  }

  #find(taskId: string, hash: number): number {
    const slot = this.#slotOf(taskId, hash);
    return slot === EMPTY ? EMPTY : this.#refs[slot]!;
  }

  #index(hash: number, ref: number): void {
    if (this.#live > this.#refs.length * MAX_LOAD) this.#resize(this.#refs.length * 2);
    const mask = this.#mask;
    let i = hash & mask;
    while (this.#refs[i] !== EMPTY) i = (i + 1) & mask;
    this.#hashes[i] = hash;
    this.#refs[i] = ref;
  }

  #unindexRef(hash: number, ref: number): void {
    const mask = this.#mask;
    for (let i = hash & mask; this.#refs[i] !== EMPTY; i = (i + 1) & mask) {
      if (this.#refs[i] === ref) {
        this.#unindexSlot(i);
        return;
      }
    }
  }

  /** Linear-probing deletion by backward shift: no tombstones, so probes stay short. */
  #unindexSlot(hole: number): void {
    const hashes = this.#hashes;
    const refs = this.#refs;
    const mask = this.#mask;
    for (let j = (hole + 1) & mask; refs[j] !== EMPTY; j = (j + 1) & mask) {
      const home = hashes[j]! & mask;
      // The entry at j may move back into the hole unless its home lies cyclically in (hole, j].
      const staysPut = hole <= j ? hole < home && home <= j : hole < home || home <= j;
      if (staysPut) continue;
      hashes[hole] = hashes[j]!;
      refs[hole] = refs[j]!;
      hole = j;
    }
    refs[hole] = EMPTY;
  }

  #resize(slots: number): void {
    const oldHashes = this.#hashes;
    const oldRefs = this.#refs;
    this.#hashes = new Uint32Array(slots);
    this.#refs = new Float64Array(slots).fill(EMPTY);
    this.#mask = slots - 1;
    const mask = this.#mask;
    for (let i = 0; i < oldRefs.length; i++) {
      const ref = oldRefs[i]!;
      if (ref === EMPTY) continue;
      const hash = oldHashes[i]!;
      let j = hash & mask;
      while (this.#refs[j] !== EMPTY) j = (j + 1) & mask;
      this.#hashes[j] = hash;
      this.#refs[j] = ref;
    }
  }
}

const EMPTY_BUFFER = Buffer.alloc(0);

const HEX_DIGITS = '0123456789abcdef';
const UUID_TEXT = Buffer.alloc(36);

/** Hex value of a lowercase hex digit's char code, or -1. */
function hexValue(code: number): number {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  if (code >= 0x61 && code <= 0x66) return code - 0x61 + 10;
  return -1;
}

/**
 * Writes `text` as 16 bytes at `at` if it is a UUID in lowercase 8-4-4-4-12 form (what server-assigned
 * ids are); returns false, having written nothing that matters, otherwise. Only this exact form
 * qualifies, so `readUuid` gives back the same string.
 */
function writeUuid(buf: Buffer, at: number, text: string): boolean {
  if (text.length !== 36) return false;
  let i = 0;
  for (let byte = 0; byte < 16; byte++) {
    if (byte === 4 || byte === 6 || byte === 8 || byte === 10) {
      if (text.charCodeAt(i++) !== 0x2d) return false;
    }
    const high = hexValue(text.charCodeAt(i++));
    const low = hexValue(text.charCodeAt(i++));
    if (high < 0 || low < 0) return false;
    buf[at + byte] = (high << 4) | low;
  }
  return true;
}

function readUuid(buf: Buffer, at: number): string {
  let out = 0;
  for (let byte = 0; byte < 16; byte++) {
    if (byte === 4 || byte === 6 || byte === 8 || byte === 10) UUID_TEXT[out++] = 0x2d;
    const value = buf[at + byte]!;
    UUID_TEXT[out++] = HEX_DIGITS.charCodeAt(value >> 4);
    UUID_TEXT[out++] = HEX_DIGITS.charCodeAt(value & 0x0f);
  }
  return UUID_TEXT.toString('latin1', 0, 36);
}

/** The exact encoded size of a record (for large ones, which get a chunk of their own). */
function exactSize(record: TaskRecord, message: string, attemptErrors: string, trace: string): number {
  const strings = [record.taskId, record.method, record.argsDigest, record.result, message, record.retryKey, attemptErrors, trace, ...record.deps];
  let size = HEADER_BYTES;
  for (const text of strings) size += 5 + Buffer.byteLength(text, 'utf8');
  return size;
}

/** Writes `text` as a LEB128 byte length and its UTF-8 bytes at `at`; returns the end. */
function writeString(buf: Buffer, at: number, text: string): number {
  const length = text.length;
  // Short ASCII (ids, method names, small results) is copied here: cheaper than a native call.
  if (length < 0x80) {
    buf[at] = length;
    let i = 0;
    for (; i < length; i++) {
      const code = text.charCodeAt(i);
      if (code >= 0x80) break;
      buf[at + 1 + i] = code;
    }
    if (i === length) return at + 1 + length;
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  at = writeVarint32(buf, at, bytes);
  buf.write(text, at, bytes, 'utf8');
  return at + bytes;
}

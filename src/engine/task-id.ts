import { randomFillSync } from 'node:crypto';

/** Random bytes are drawn for this many ids at once (as Node's own randomUUID does). */
const IDS_PER_BATCH = 256;
const HEX = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

const random = Buffer.alloc(16 * IDS_PER_BATCH);
let nextInBatch = IDS_PER_BATCH;
const text = Buffer.alloc(36);

/**
 * A server-assigned task id: a random (version 4) UUID in its usual lowercase text form.
 *
 * Why not `crypto.randomUUID()`: V8 builds its text as a rope of ~20 small strings (~580 B of garbage
 * per call, ~490 B per id kept until something flattens it), and every stored result keeps its id.
 * Writing the 36 characters into one buffer and decoding it once gives a flat ~52 B string (bench
 * scenarios a and f). The randomness is the same: `randomFillSync`, drawn in batches.
 */
export function newTaskId(): string {
  if (nextInBatch === IDS_PER_BATCH) {
    randomFillSync(random);
    nextInBatch = 0;
  }
  const offset = 16 * nextInBatch++;
  random[offset + 6] = (random[offset + 6]! & 0x0f) | 0x40; // version 4
  random[offset + 8] = (random[offset + 8]! & 0x3f) | 0x80; // RFC 4122 variant
  let at = 0;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) text[at++] = DASH;
    const byte = random[offset + i]!;
    text[at++] = HEX[byte >> 4]!;
    text[at++] = HEX[byte & 0x0f]!;
  }
  return text.toString('latin1', 0, 36);
}

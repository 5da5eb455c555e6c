import { newTaskId } from '../../src/engine/task-id';

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newTaskId', () => {
  it('gives lowercase version-4 UUIDs, all different, across many random batches', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = newTaskId();
      expect(id).toMatch(UUID_V4);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it('uses every hex digit in every random position (no stuck nibbles)', () => {
    // 36 positions × 16 digits: after 20 000 ids each random position has shown every digit.
    const digits = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 20_000; i++) [...newTaskId()].forEach((c, at) => digits[at]!.add(c));
    digits.forEach((set, at) => {
      if ([8, 13, 18, 23].includes(at)) expect([...set]).toEqual(['-']);
      else if (at === 14) expect([...set]).toEqual(['4']);
      else if (at === 19) expect([...set].sort()).toEqual(['8', '9', 'a', 'b']);
      else expect(set.size).toBe(16);
    });
  });
});

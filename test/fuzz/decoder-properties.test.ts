/**
 * fast-check properties of the argument decoder (reliability/decoder-properties.ts), seeded so a
 * failure reproduces: FUZZ_SEED=<seed> npx jest test/fuzz. `npm run fuzz -- --minutes N` runs them longer.
 */
import { runDecoderProperties } from '../../reliability/decoder-properties';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261126);

test('decoder properties hold (seeded), and both outcomes were exercised where both exist', () => {
  const results = runDecoderProperties({ seed, numRuns: 400 });
  const byName = Object.fromEntries(results.map((r) => [r.name, r]));
  expect(results).toHaveLength(6);
  for (const result of results) expect(result.cases).toBeGreaterThan(0);
  for (const name of ['any bytes under any type_url (1-3 args)', 'mutated encodings of any value', 'any nesting against any depth limit (up to 800 levels)', 'any value against any limits: accepted iff within them, and the error names the limit']) {
    expect({ name, accepted: byName[name]!.accepted > 0, rejected: byName[name]!.rejected > 0 }).toEqual({ name, accepted: true, rejected: true });
  }
  expect(byName['any value round-trips (canonical JSON equal)']!.rejected).toBe(0);
});

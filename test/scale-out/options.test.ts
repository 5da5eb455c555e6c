/** The scale-out flags: --store, --redis-prefix, --lease-ms. */
import { parseCliOptions } from '../../src/cli/options';

test('defaults: the memory store', () => {
  const options = parseCliOptions([])!;
  expect(options.app.store).toBe('memory');
  expect(options.app.redisPrefix).toBe('task-scheduler:');
  expect(options.app.leaseMs).toBe(5000);
});

test('a Redis URL (with TLS and a password), a prefix and a lease', () => {
  const options = parseCliOptions(['--store', 'rediss://:secret@redis.internal:6380/2', '--redis-prefix', 'prod:', '--lease-ms', '2000'])!;
  expect(options.app).toMatchObject({ store: 'rediss://:secret@redis.internal:6380/2', redisPrefix: 'prod:', leaseMs: 2000 });
});

test('bad values are rejected with a message naming the flag', () => {
  expect(() => parseCliOptions(['--store', 'redis.internal:6379'])).toThrow('--store must be memory, sqlite:<path> or a Redis URL (redis://host:port, rediss://host:port), got "redis.internal:6379"');
  expect(() => parseCliOptions(['--store', 'redis://'])).toThrow('--store must be memory, sqlite:<path> or a Redis URL');
  expect(() => parseCliOptions(['--lease-ms', '50'])).toThrow('--lease-ms must be at least 100, got 50');
  expect(() => parseCliOptions(['--lease-ms', '-1'])).toThrow('--lease-ms must be a whole number ≥ 0, got -1');
});

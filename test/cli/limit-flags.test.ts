/** The flags of retries and admission: defaults, parsing, and refusals (the README's Configuration table). */
import { parseCliOptions } from '../../src/cli/options';

const DAY_MS = 86_400_000;

test('defaults', () => {
  const { app } = parseCliOptions([])!;
  expect(app).toMatchObject({
    maxAttempts: 100,
    maxQueuedTasks: 100_000,
    maxDependentTasks: 100_000,
    maxUnfinishedBytes: 268_435_456,
    maxDependencyTimeoutMs: DAY_MS,
    maxExecutionTimeoutMs: DAY_MS,
  });
});

test('set from flags and from TASK_SCHEDULER_<FLAG>', () => {
  const { app } = parseCliOptions([
    '--max-attempts', '5', '--max-dependent-tasks', '0', '--max-unfinished-bytes', '1048576',
    '--max-dependency-timeout-ms', '60000', '--max-execution-timeout-ms', '1000', '--dependency-timeout-ms', '60000',
  ])!;
  expect(app).toMatchObject({ maxAttempts: 5, maxDependentTasks: 0, maxUnfinishedBytes: 1_048_576, maxDependencyTimeoutMs: 60_000, maxExecutionTimeoutMs: 1_000 });
  process.env['TASK_SCHEDULER_MAX_ATTEMPTS'] = '7';
  try {
    expect(parseCliOptions([])!.app.maxAttempts).toBe(7);
  } finally {
    delete process.env['TASK_SCHEDULER_MAX_ATTEMPTS'];
  }
});

test('refusals name the flag and the value', () => {
  expect(() => parseCliOptions(['--max-attempts', '0'])).toThrow('--max-attempts must be at least 1, got 0');
  expect(() => parseCliOptions(['--max-unfinished-bytes', '-1'])).toThrow('--max-unfinished-bytes must be a whole number ≥ 0, got -1');
  expect(() => parseCliOptions(['--max-execution-timeout-ms', '0'])).toThrow('--max-execution-timeout-ms must be at least 1, got 0');
  expect(() => parseCliOptions(['--dependency-timeout-ms', '60001', '--max-dependency-timeout-ms', '60000'])).toThrow('--dependency-timeout-ms 60001 is over --max-dependency-timeout-ms 60000');
});

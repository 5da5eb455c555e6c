/**
 * fast-check property of request validation, in process (no network), with the real scheduler and
 * registry behind the service: any TaskRequest is either accepted or refused with a TaskSchedulerError
 * whose code and message prefix are a SPEC §4 row — never another exception (which the server would
 * turn into INTERNAL "Internal error", a bug). Requests are sent detached so only validation is timed.
 */
import fc from 'fast-check';
import type { CallContext } from 'nice-grpc';
import { buildApp, createBuiltinRegistry, type App } from '../../src/app';
import { TaskSchedulerError } from '../../src/errors';
import { createTaskSchedulerService } from '../../src/server/task-scheduler-service';
import { taskRequestArb } from '../../reliability/server-fuzz';
import { classifyStatus } from '../../reliability/spec-status';

const seed = Number(process.env['FUZZ_SEED'] ?? 20261126);
let app: App;
afterAll(() => app.close());

test('any TaskRequest: accepted, or a SPEC §4 error — never anything else (seeded)', async () => {
  app = buildApp({ libraryDir: 'libraries', workerThreads: 0, maxArgs: 4, maxDeps: 2, maxTaskIdLength: 64, maxStringBytes: 16 }, { registry: createBuiltinRegistry() });
  const service = createTaskSchedulerService({
    scheduler: app.scheduler,
    registry: app.registry,
    decodeLimits: { maxDepth: 3, maxStringBytes: 16, maxMapEntries: 3 },
    requestLimits: { maxArgs: 4, maxDeps: 2, maxTaskIdLength: 64, maxDependencyTimeoutMs: 300, maxExecutionTimeoutMs: 300 },
  });
  const outcomes = new Map<string, number>();
  const context = {} as CallContext; // the service reads nothing from it
  await fc.assert(
    fc.asyncProperty(taskRequestArb('rv-'), async (request) => {
      let outcome: string;
      try {
        const res = await service.submitTask({ ...request, detached: true }, context);
        outcome = `accepted ${res.status}`;
      } catch (err) {
        if (!(err instanceof TaskSchedulerError)) throw new Error(`not a TaskSchedulerError: ${String(err)}`);
        if (classifyStatus(err.code, err.message) !== 'spec') throw new Error(`not a SPEC §4 status: ${err.code} ${err.message}`);
        outcome = `${err.code} ${err.prefix}`;
      }
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
    }),
    { seed, numRuns: 1500 },
  );
  const seen = [...outcomes.keys()].join('\n');
  // Every refusal kind the generator can reach was reached, and some requests were accepted.
  for (const expected of [/^accepted /m, /^3 Invalid arguments: /m, /^5 Method not found: /m, /^9 Missing dependency: /m, /^6 Task already exists: /m]) {
    expect(seen).toMatch(expected);
  }
});

/**
 * d. Dependencies: a chain of 1,000 tasks (each depending on the one before) and a fan-in of 1,000
 * independent tasks into one sink, each against 1,000 independent tasks submitted the same way. Same
 * client pattern for all three shapes — detached submits one after another in order (a dependency must
 * be known when its dependant arrives), then WaitResult on every task — so the difference is what the
 * dependency handling costs.
 */
import { performance } from 'node:perf_hooks';
import { TaskResponse_Status } from '../../generated/taskscheduler/task_scheduler';
import { toAny } from '../../src/args/encode-arg';
import { runBounded } from '../run-bounded';
import { info, judge, type Scenario, type ScenarioContext, type ScenarioReport } from '../scenario';
import { startOurServer, type OurServer } from '../servers';
import { formatMs, formatRatio, formatRuns, median } from '../stats';

const RATIO_GOAL = 2;
/** WaitResults in flight at the end (all tasks are usually done by then: these are quick reads). */
const WAIT_CONCURRENCY = 64;

type Shape = 'independent' | 'chain' | 'fan-in';
const SHAPES: readonly Shape[] = ['independent', 'chain', 'fan-in'];

/** One shape, once: submits in order, waits for all, checks every answer; resolves with the wall time. */
async function runShape(server: OurServer, shape: Shape, tasks: number, prefix: string, problems: string[]): Promise<number> {
  const client = server.connection.client;
  const ids = Array.from({ length: tasks }, (_, i) => `${prefix}-${i}`);
  const submitted: string[] = [];
  const submit = async (taskId: string, deps: string[]) => {
    // `ping` with a string: cheap, and its answer `pong: <id>` proves which task ran.
    const answer = await client.submitTask({ taskId, method: 'ping', args: [toAny(taskId)], deps, detached: true });
    if (answer.status !== TaskResponse_Status.PENDING && answer.status !== TaskResponse_Status.SUCCESS) {
      problems.push(`${shape}: submit ${taskId} answered ${TaskResponse_Status[answer.status]}`);
    }
    submitted.push(taskId);
  };
  const t0 = performance.now();
  for (let i = 0; i < tasks; i++) await submit(ids[i]!, shape === 'chain' && i > 0 ? [ids[i - 1]!] : []);
  if (shape === 'fan-in') await submit(`${prefix}-sink`, ids);
  let wrong = 0;
  await runBounded(submitted.length, WAIT_CONCURRENCY, async (i) => {
    const taskId = submitted[i]!;
    const answer = await client.waitResult({ taskId });
    if (answer.status !== TaskResponse_Status.SUCCESS || answer.result !== `pong: ${taskId}`) {
      if (wrong++ === 0) problems.push(`${shape}: WaitResult(${taskId}) answered ${TaskResponse_Status[answer.status]} ${JSON.stringify(answer.result)}, expected SUCCESS "pong: ${taskId}"`);
    }
  });
  if (wrong > 1) problems.push(`${shape}: ${wrong} WaitResult answers in all were wrong`);
  return performance.now() - t0;
}

/** Scenario d: dependency chain and fan-in against independent tasks. */
export const dependencies: Scenario = {
  id: 'd',
  title: 'dependency chain and fan-in vs independent tasks',
  async run(ctx: ScenarioContext, report: ScenarioReport): Promise<void> {
    const { config } = ctx;
    const n = config.dependencyTasks;
    let server: OurServer | undefined;
    try {
      server = await startOurServer('ours (metrics on)', { metrics: true });
      report.commands.push(server.command);
      for (const shape of SHAPES) await runShape(server, shape, Math.max(10, n / 10), `warmup-${shape}`, report.errors);
      const times: Record<Shape, number[]> = { independent: [], chain: [], 'fan-in': [] };
      for (let run = 0; run < config.runs; run++) {
        // Interleaved per round, like a's servers: noise hits every shape alike.
        for (const shape of SHAPES) times[shape].push(await runShape(server, shape, n, `r${run}-${shape}`, report.errors));
        ctx.log(`  round ${run + 1}: ${SHAPES.map((shape) => `${shape} ${formatMs(times[shape].at(-1)!)}`).join(', ')}`);
      }
      const independent = median(times.independent);
      const chain = median(times.chain);
      const fanIn = median(times['fan-in']);
      report.figures.push(
        info(`${n} independent tasks`, formatMs(independent)),
        info(`chain of ${n}`, formatMs(chain)),
        { label: 'chain / independent', value: formatRatio(chain / independent), goal: `≤ ${RATIO_GOAL}×`, verdict: judge(ctx, chain / independent <= RATIO_GOAL) },
        info(`fan-in of ${n} into 1 sink`, formatMs(fanIn)),
        { label: 'fan-in / independent', value: formatRatio(fanIn / independent), goal: `≤ ${RATIO_GOAL}×`, verdict: judge(ctx, fanIn / independent <= RATIO_GOAL) },
      );
      report.notes.push(
        ...SHAPES.map((shape) => `${shape} per run ${formatRuns(times[shape], formatMs)}`),
        `task: ping(<its id>), detached, explicit ids; submits sequential in order (each awaits the previous answer), then ${WAIT_CONCURRENCY} WaitResults in flight over every task (fan-in: also the sink); every answer checked ("pong: <id>")`,
      );
    } finally {
      await server?.stop();
    }
  },
};

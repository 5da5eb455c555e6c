/** Shared pieces of the scheduling tests: a task that records its starts, and servers that have it. */
import Long from 'long';
import { createBuiltinRegistry, type AppConfig } from '../../src/app';
import { integerToBigInt, isIntegerArg } from '../../src/args/arg-value';
import type { TaskDefinition } from '../../src/tasks/task-registry';
import { startTestServer, type TestServer } from '../helpers/start-server';

/** One start of `note`: its task id, concurrency-relevant label and when. */
export interface Start {
  readonly taskId: string;
  readonly label: string;
  readonly at: number;
}

/**
 * The async task `note` (args: a label string, then a run time in ms): records its start (and the
 * most running at once per label) in shared state, so in-process replicas count together.
 */
export class Notes {
  readonly starts: Start[] = [];
  readonly running = new Map<string, number>();
  readonly maxRunning = new Map<string, number>();
  /** Starts per task id (a fire or a delayed task must run once). */
  readonly runs = new Map<string, number>();

  readonly definition: TaskDefinition = {
    name: 'note',
    kind: 'async',
    description: 'records its start; args: label, run ms',
    source: 'user',
    fn: async (args, ctx) => {
      const label = args[0]?.kind === 'string' ? args[0].value : '';
      const ms = isIntegerArg(args[1]) ? Number(integerToBigInt(args[1])) : 0;
      this.starts.push({ taskId: ctx.taskId, label, at: Date.now() });
      this.runs.set(ctx.taskId, (this.runs.get(ctx.taskId) ?? 0) + 1);
      const now = (this.running.get(label) ?? 0) + 1;
      this.running.set(label, now);
      this.maxRunning.set(label, Math.max(this.maxRunning.get(label) ?? 0, now));
      try {
        if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
      } finally {
        this.running.set(label, (this.running.get(label) ?? 1) - 1);
      }
      return `noted ${label}`;
    },
  };

  labels(): string[] {
    return this.starts.map((start) => start.label);
  }
}

export async function startNotedServer(notes: Notes, config: Partial<AppConfig> = {}): Promise<TestServer> {
  const registry = createBuiltinRegistry();
  registry.register(notes.definition);
  return startTestServer({ libraryDir: '', workerThreads: 0, ...config }, { registry });
}

export const ms = (n: number): Long => Long.fromNumber(n, true);
export const signedMs = (n: number): Long => Long.fromNumber(n, false);
export const sleep = (n: number) => new Promise((resolve) => setTimeout(resolve, n));

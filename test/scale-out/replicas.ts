/** Several in-process replicas sharing one Redis (each with its own registry, store and gRPC port). */
import { randomBytes } from 'node:crypto';
import { createBuiltinRegistry, type AppConfig } from '../../src/app';
import type { TaskDefinition } from '../../src/tasks/task-registry';
import { startTestServer, type TestServer } from '../helpers/start-server';

/** A prefix of its own per test file, so runs never see each other's keys. */
export function uniquePrefix(name: string): string {
  return `ts-test-${name}-${randomBytes(4).toString('hex')}:`;
}

/** Starts `count` replicas on `redisUrl`; `tasks` are registered in each (besides the built-ins). */
export async function startReplicas(
  count: number,
  redisUrl: string,
  prefix: string,
  config: Partial<AppConfig> = {},
  tasks: readonly TaskDefinition[] = [],
): Promise<TestServer[]> {
  const replicas: TestServer[] = [];
  for (let i = 0; i < count; i++) {
    const registry = createBuiltinRegistry();
    for (const task of tasks) registry.register(task);
    replicas.push(await startTestServer({ libraryDir: '', workerThreads: 0, store: redisUrl, redisPrefix: prefix, leaseMs: 1_000, ...config }, { registry }));
  }
  return replicas;
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

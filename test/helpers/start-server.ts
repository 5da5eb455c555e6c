import { ClientError, Status } from 'nice-grpc';
import { buildApp, createBuiltinRegistry, type App, type AppConfig, type AppDeps } from '../../src/app';
import { createTaskSchedulerClient, type ClientOptions } from '../../src/client/create-client';
import type { TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import type { TaskSchedulerAdminClient } from '../../generated/taskscheduler/task_scheduler_admin';

/** A real server on 127.0.0.1:0 and a generated nice-grpc client talking to it. */
export interface TestServer {
  readonly client: TaskSchedulerClient;
  /** TaskSchedulerAdmin (schedules, pause/resume, queue stats) on the same channel. */
  readonly admin: TaskSchedulerAdminClient;
  readonly address: string;
  /** The metrics endpoint's address, when the config set `metricsAddr` (use 127.0.0.1:0). */
  readonly metricsAddress: string | undefined;
  /** The dashboard's address, when the config set `dashboardAddr` (use 127.0.0.1:0). */
  readonly dashboardAddress: string | undefined;
  readonly app: App;
  close(): Promise<void>;
}

/**
 * Starts the real server (fresh registry with the built-ins and the repository's plugins, in-memory
 * store, silent logs) on a free loopback port, and a client (plaintext unless `clientOptions` say).
 */
export async function startTestServer(config: Partial<AppConfig> = {}, deps: AppDeps = {}, clientOptions: ClientOptions = {}): Promise<TestServer> {
  const app = buildApp({ libraryDir: 'libraries', shutdownGraceMs: 100, ...config }, { registry: createBuiltinRegistry(), ...deps });
  const { grpc: address, metrics: metricsAddress, dashboard: dashboardAddress } = await app.start('127.0.0.1:0');
  const connection = createTaskSchedulerClient(address, clientOptions);
  return {
    client: connection.client,
    admin: connection.admin,
    address,
    metricsAddress,
    dashboardAddress,
    app,
    async close() {
      connection.close();
      await app.close();
    },
  };
}

/** Awaits a call expected to fail and returns its ServerError (fails the test otherwise). */
export async function expectGrpcError(call: Promise<unknown>): Promise<ClientError> {
  let value: unknown;
  try {
    value = await call;
  } catch (err) {
    if (err instanceof ClientError) return err;
    throw err;
  }
  throw new Error(`expected a gRPC error, got a response: ${JSON.stringify(value)}`);
}

export { ClientError, Status };

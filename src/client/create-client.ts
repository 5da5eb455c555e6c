import { createChannel, createClient, type Channel, type ChannelOptions } from 'nice-grpc';
import { TaskSchedulerDefinition, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';

/** A typed client and the channel under it. */
export interface TaskSchedulerConnection {
  readonly client: TaskSchedulerClient;
  readonly channel: Channel;
  /** Closes the channel. */
  close(): void;
}

/**
 * Connects a typed nice-grpc client to a Task Scheduler at `address` (`host:port`, plaintext).
 *
 * @example
 * const { client, close } = createTaskSchedulerClient('127.0.0.1:50051');
 * const res = await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
 * close();
 */
export function createTaskSchedulerClient(address: string, options: ChannelOptions = {}): TaskSchedulerConnection {
  const channel = createChannel(address, undefined, options);
  return { client: createClient(TaskSchedulerDefinition, channel), channel, close: () => channel.close() };
}

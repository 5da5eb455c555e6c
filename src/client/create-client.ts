import { readFileSync } from 'node:fs';
import { ChannelCredentials, createChannel, createClientFactory, Metadata, type Channel, type ChannelOptions } from 'nice-grpc';
import { TaskSchedulerDefinition, type TaskSchedulerClient } from '../../generated/taskscheduler/task_scheduler';
import { propagateTraceContext } from './propagate-trace-context';

/** How to reach a Task Scheduler. */
export interface ClientOptions {
  /** TLS: the CA that signed the server's certificate (PEM text or file path); with cert/key: mTLS. */
  readonly tls?: {
    readonly ca: string | Buffer;
    readonly cert?: string | Buffer;
    readonly key?: string | Buffer;
  };
  /** Bearer token sent on every call (`authorization: Bearer <token>`). */
  readonly token?: string;
  /** grpc-js channel options (keepalive, message sizes…). */
  readonly channelOptions?: ChannelOptions;
}

/** A typed client and the channel under it. */
export interface TaskSchedulerConnection {
  readonly client: TaskSchedulerClient;
  readonly channel: Channel;
  /** Closes the channel. */
  close(): void;
}

/** PEM text as is; anything else is read as a file path. */
function pem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

/**
 * Connects a typed nice-grpc client (generated from proto/) to a Task Scheduler at `address`
 * (`host:port`): plaintext by default, TLS/mTLS and a bearer token when given. The caller's active
 * OpenTelemetry context, if any, is propagated (W3C trace context metadata).
 *
 * @example
 * const { client, close } = createTaskSchedulerClient('127.0.0.1:50051');
 * const res = await client.submitTask({ method: 'add', args: [toAny(1), toAny(2)] });
 * close();
 */
export function createTaskSchedulerClient(address: string, opts: ClientOptions = {}): TaskSchedulerConnection {
  const credentials = opts.tls
    ? ChannelCredentials.createSsl(pem(opts.tls.ca), opts.tls.key ? pem(opts.tls.key) : null, opts.tls.cert ? pem(opts.tls.cert) : null)
    : ChannelCredentials.createInsecure();
  const channel = createChannel(address, credentials, opts.channelOptions ?? {});
  const defaults = opts.token ? { '*': { metadata: Metadata({ authorization: `Bearer ${opts.token}` }) } } : {};
  // The caller's active trace context travels with every call (a no-op without an OpenTelemetry SDK).
  const client = createClientFactory().use(propagateTraceContext).create(TaskSchedulerDefinition, channel, defaults);
  return { client, channel, close: () => channel.close() };
}

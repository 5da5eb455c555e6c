import { readFileSync } from 'node:fs';
import { TaskSchedulerAdminDefinition, type TaskSchedulerAdminClient } from '../../generated/taskscheduler/task_scheduler_admin';
import { isIP } from 'node:net';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
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
  /**
   * grpc-js channel options (keepalive, message sizes…). Over TLS to an IP address, the client sets
   * `grpc.ssl_target_name_override` itself unless given here: grpc-js would otherwise send the IP
   * address as the TLS server name, which RFC 6066 forbids and Node warns about (DEP0123). It sends the
   * address's reverse-DNS name instead (`1.0.0.127.in-addr.arpa`) and still checks that the server's
   * certificate names the IP address (subjectAltName `IP:127.0.0.1`).
   */
  readonly channelOptions?: ChannelOptions;
}

/** A typed client and the channel under it. */
export interface TaskSchedulerConnection {
  readonly client: TaskSchedulerClient;
  /** TaskSchedulerAdmin on the same channel: schedules, pause/resume, queue stats. */
  readonly admin: TaskSchedulerAdminClient;
  readonly channel: Channel;
  /** Closes the channel. */
  close(): void;
}

/** PEM text as is; anything else is read as a file path. */
function pem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

/** The IP address a `host:port` / `[v6]:port` / `ipv4:…` target names, if its host is an IP literal. */
function ipHostOf(address: string): string | undefined {
  const target = address.replace(/^(?:ipv4|ipv6|dns):(?:\/\/[^/]*\/)?/, '').split(',')[0] ?? '';
  const host = /^\[([^\]]+)\](?::\d+)?$/.exec(target)?.[1] ?? target.replace(/:\d+$/, '');
  return isIP(host) !== 0 ? host : undefined;
}

/**
 * The reverse-DNS name of an IP address (`127.0.0.1` → `1.0.0.127.in-addr.arpa`, IPv6 → nibbles under
 * `ip6.arpa`): a DNS name that stands for exactly that address.
 */
export function reverseDnsName(ip: string): string {
  if (isIP(ip) === 4) return `${ip.split('.').reverse().join('.')}.in-addr.arpa`;
  // An IPv4 tail (`::ffff:192.0.2.1`) is two groups.
  const hex = ip.replace(/(\d+)\.(\d+)\.(\d+)\.(\d+)$/, (_all, a: string, b: string, c: string, d: string) =>
    `${((Number(a) << 8) | Number(b)).toString(16)}:${((Number(c) << 8) | Number(d)).toString(16)}`);
  const [head = '', tail = ''] = hex.includes('::') ? hex.split('::') : [hex, ''];
  const groups = (part: string) => (part === '' ? [] : part.split(':'));
  const missing = 8 - groups(head).length - groups(tail).length;
  const full = [...groups(head), ...Array<string>(missing).fill('0'), ...groups(tail)].map((group) => group.padStart(4, '0'));
  return `${[...full.join('')].reverse().join('.')}.ip6.arpa`;
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
  const ipTarget = opts.tls ? ipHostOf(address) : undefined;
  const overridden = opts.channelOptions?.['grpc.ssl_target_name_override'] !== undefined;
  const byIp = ipTarget !== undefined && !overridden ? ipTarget : undefined;
  const credentials = opts.tls
    ? ChannelCredentials.createSsl(
        pem(opts.tls.ca),
        opts.tls.key ? pem(opts.tls.key) : null,
        opts.tls.cert ? pem(opts.tls.cert) : null,
        // The certificate must still name the IP address we connect to (subjectAltName IP:…).
        byIp !== undefined ? { checkServerIdentity: (_name: string, cert: PeerCertificate) => checkServerIdentity(byIp, cert) } : {},
      )
    : ChannelCredentials.createInsecure();
  const channelOptions = byIp !== undefined ? { ...opts.channelOptions, 'grpc.ssl_target_name_override': reverseDnsName(byIp) } : opts.channelOptions ?? {};
  const channel = createChannel(address, credentials, channelOptions);
  const defaults = opts.token ? { '*': { metadata: Metadata({ authorization: `Bearer ${opts.token}` }) } } : {};
  // The caller's active trace context travels with every call (a no-op without an OpenTelemetry SDK).
  const factory = createClientFactory().use(propagateTraceContext);
  const client = factory.create(TaskSchedulerDefinition, channel, defaults);
  const admin = factory.create(TaskSchedulerAdminDefinition, channel, defaults);
  return { client, admin, channel, close: () => channel.close() };
}

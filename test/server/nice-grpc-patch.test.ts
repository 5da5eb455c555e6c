/**
 * patches/nice-grpc+2.1.18.patch (applied by patch-package on `npm ci`): on a server without
 * middleware, unary implementations are called without the async-generator protocol and get a lazy
 * call context (a class with prototype getters). These tests pin the behaviour nice-grpc documents,
 * over a real server and the generated client, on both the patched no-middleware path and the
 * upstream middleware path; all but the first pass on unpatched nice-grpc too
 * (docs/decisions.md, "nice-grpc's per-call context").
 */
import { createChannel, createClient, createServer, Metadata, ServerError, Status, type CallContext, type Channel, type ServerMiddleware } from 'nice-grpc';
import {
  TaskResponse_Status,
  TaskSchedulerDefinition,
  type TaskRequest,
  type TaskResponse,
  type TaskSchedulerClient,
  type TaskSchedulerServiceImplementation,
} from '../../generated/taskscheduler/task_scheduler';
import { expectGrpcError } from '../helpers/start-server';

/** Resolves when `resolve` is called; for handing control between the test and a handler. */
function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What a handler saw, keyed by the request's taskId. */
interface Seen {
  /** `signal` is an own property (upstream's object literal), not a prototype getter (the patch). */
  signalIsOwn: boolean;
  context: CallContext;
  abortedWhenFirstRead?: boolean;
  abortEvent?: boolean;
}

function ok(result: string): TaskResponse {
  return { taskId: '', status: TaskResponse_Status.SUCCESS, result, attempts: 1 };
}

interface Harness {
  client: TaskSchedulerClient;
  seen: Map<string, Seen>;
  /** Per-taskId gates a handler waits on before going on. */
  gates: Map<string, Promise<void>>;
  started: Map<string, () => void>;
  close(): Promise<void>;
}

async function startHarness(middleware?: ServerMiddleware): Promise<Harness> {
  const seen = new Map<string, Seen>();
  const gates = new Map<string, Promise<void>>();
  const started = new Map<string, () => void>();
  const unimplemented = async (): Promise<never> => {
    throw new ServerError(Status.UNIMPLEMENTED, 'not in this test');
  };
  const implementation: TaskSchedulerServiceImplementation = {
    async submitTask(request: TaskRequest, context: CallContext): Promise<TaskResponse> {
      const entry: Seen = { signalIsOwn: Object.hasOwn(context, 'signal'), context };
      seen.set(request.taskId, entry);
      started.get(request.taskId)?.();
      switch (request.method) {
        case 'plain':
          return ok('plain');
        case 'read-signal-late':
          // Waits for the test to cancel the call, then reads the signal for the first time.
          await gates.get(request.taskId);
          entry.abortedWhenFirstRead = context.signal.aborted;
          return ok('late');
        case 'read-signal-early': {
          const aborted = new Promise<void>((resolve) => context.signal.addEventListener('abort', () => resolve()));
          await aborted;
          entry.abortEvent = true;
          return ok('early');
        }
        case 'metadata':
          context.header.set('x-header', 'h1');
          context.trailer.set('x-trailer', 't1');
          return ok(`saw ${context.metadata.get('x-request') ?? '(none)'}`);
        case 'void':
          return undefined as unknown as TaskResponse;
        case 'server-error':
          context.trailer.set('x-trailer', 'on-error');
          throw new ServerError(Status.FAILED_PRECONDITION, 'refused on purpose');
        default:
          throw new ServerError(Status.NOT_FOUND, request.method);
      }
    },
    getResult: unimplemented,
    waitResult: unimplemented,
    cancelTask: unimplemented,
    listTasks: unimplemented,
    listSubmittedTasks: unimplemented,
    submitTasks: unimplemented,
    // eslint-disable-next-line require-yield
    async *watchTasks() {
      throw new ServerError(Status.UNIMPLEMENTED, 'not in this test');
    },
  };
  const base = createServer();
  const server = middleware ? base.use(middleware) : base;
  server.add(TaskSchedulerDefinition, implementation);
  const port = await server.listen('127.0.0.1:0');
  const channel: Channel = createChannel(`127.0.0.1:${port}`);
  return {
    client: createClient(TaskSchedulerDefinition, channel),
    seen,
    gates,
    started,
    async close() {
      channel.close();
      await server.shutdown();
    },
  };
}

/** A middleware that reads the request metadata and adds a trailer, as auth and tracing ones do. */
const tagging: ServerMiddleware = async function* (call, context) {
  context.trailer.set('x-middleware', context.metadata.get('x-request') ?? '(none)');
  return yield* call.next(call.request, context);
};

describe.each([
  ['no middleware (patched direct path)', undefined],
  ['with a middleware (generator path)', tagging],
] as const)('nice-grpc server context, %s', (_label, middleware) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(middleware);
  });
  afterAll(() => h.close());

  test(middleware ? 'middleware keeps the upstream context' : 'the patch is applied: a lazy context', async () => {
    await h.client.submitTask({ taskId: 'lazy', method: 'plain' });
    expect(h.seen.get('lazy')?.signalIsOwn).toBe(middleware !== undefined);
    // The documented difference: lazy members are not copied by a spread (only `peer` is).
    const copy = { ...h.seen.get('lazy')!.context };
    expect(Object.keys(copy).sort()).toEqual(middleware ? ['header', 'metadata', 'peer', 'sendHeader', 'signal', 'trailer'] : ['peer']);
  });

  test('a completed call answers, and its signal is not aborted afterwards', async () => {
    const response = await h.client.submitTask({ taskId: 'done', method: 'plain' });
    expect(response.result).toBe('plain');
    await sleep(50);
    expect(h.seen.get('done')?.context.signal.aborted).toBe(false);
  });

  test('a signal first read after the client cancelled is already aborted', async () => {
    const gate = deferred();
    const started = deferred();
    h.gates.set('late', gate.promise);
    h.started.set('late', started.resolve);
    const abort = new AbortController();
    const call = h.client.submitTask({ taskId: 'late', method: 'read-signal-late' }, { signal: abort.signal });
    await started.promise;
    abort.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await sleep(200); // the RST_STREAM reaches the server over loopback well within this
    gate.resolve();
    await sleep(50);
    expect(h.seen.get('late')?.abortedWhenFirstRead).toBe(true);
  });

  test('a signal read before the client cancels fires its abort event', async () => {
    const started = deferred();
    h.started.set('early', started.resolve);
    const abort = new AbortController();
    const call = h.client.submitTask({ taskId: 'early', method: 'read-signal-early' }, { signal: abort.signal });
    await started.promise;
    abort.abort();
    await expect(call).rejects.toThrow(/abort/i);
    for (let i = 0; i < 100 && !h.seen.get('early')?.abortEvent; i++) await sleep(10);
    expect(h.seen.get('early')?.abortEvent).toBe(true);
  });

  test('request metadata is readable; header and trailer set by the handler reach the client', async () => {
    let header: Metadata | undefined;
    let trailer: Metadata | undefined;
    const response = await h.client.submitTask(
      { taskId: 'md', method: 'metadata' },
      { metadata: Metadata({ 'x-request': 'r1' }), onHeader: (m) => (header = m), onTrailer: (m) => (trailer = m) },
    );
    expect(response.result).toBe('saw r1');
    expect(header?.get('x-header')).toBe('h1');
    expect(trailer?.get('x-trailer')).toBe('t1');
    if (middleware) expect(trailer?.get('x-middleware')).toBe('r1');
  });

  test('a call that touches no metadata gets an empty trailer (bar the middleware\'s)', async () => {
    let trailer: Metadata | undefined;
    await h.client.submitTask({ taskId: 'nomd', method: 'plain' }, { onTrailer: (m) => (trailer = m) });
    expect(trailer?.get('x-trailer')).toBeUndefined();
    expect(trailer?.get('x-middleware')).toBe(middleware ? '(none)' : undefined);
  });

  test('a ServerError keeps its code and details, and the trailer set before it', async () => {
    let trailer: Metadata | undefined;
    const err = await expectGrpcError(h.client.submitTask({ taskId: 'err', method: 'server-error' }, { onTrailer: (m) => (trailer = m) }));
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.details).toBe('refused on purpose');
    expect(trailer?.get('x-trailer')).toBe('on-error');
  });

  test('an implementation that returns nothing fails the call with UNKNOWN', async () => {
    // nice-grpc reports the error through process.emitWarning, naming the void result.
    const emitWarning = jest.spyOn(process, 'emitWarning').mockImplementation(() => undefined);
    try {
      const err = await expectGrpcError(h.client.submitTask({ taskId: 'void', method: 'void' }));
      expect(err.code).toBe(Status.UNKNOWN);
      expect(err.details).toBe('Unknown server error occurred');
      expect(emitWarning.mock.calls.some(([warning]) => String(warning).includes('returned void'))).toBe(true);
    } finally {
      emitWarning.mockRestore();
    }
  });
});

/**
 * The engine builds a request's canonical JSON once and hands it to the task (TaskContext.argsJson):
 * `echo` answers with it instead of building it again. These tests pin that the text a task gets is
 * always its own request's, never another's, and that idempotency digests did not move.
 */
import { createHash } from 'node:crypto';
import { arg, type ArgValue } from '../../src/args/arg-value';
import { canonicalJson } from '../../src/args/canonical-json';
import { decodeArg } from '../../src/args/decode-arg';
import { toAny, type JsArg } from '../../src/args/encode-arg';
import { createBuiltinRegistry } from '../../src/app';
import { argsDigest, digestOfCanonicalJson } from '../../src/engine/task-identity';
import { syncTask } from '../../src/tasks/task-registry';
import { expectGrpcError, Status, startTestServer, type TestServer } from '../helpers/start-server';
import { TaskResponse_Status } from './builtin-client';

/** An order-like document (map → list → map → map), distinct per `n`. */
function document(n: number): JsArg {
  return {
    order: `order-${n}`,
    items: Array.from({ length: 3 + (n % 5) }, (_, i) => ({ sku: `SKU-${n}-${i}`, qty: i + n, meta: { active: (i + n) % 2 === 0, note: 'ünïcödé €' } })),
  };
}

let server: TestServer;
beforeAll(async () => {
  const registry = createBuiltinRegistry();
  // What a task sees: the JSON the engine handed over ("none" when it handed none).
  syncTask((_args, ctx) => ctx.argsJson ?? 'none', { registry, name: 'args_json_probe' });
  // A task that scribbles on its own argument array: only its own request may be affected.
  syncTask(
    (args, ctx) => {
      (args as ArgValue[]).push(arg.string('scribbled'));
      return `${ctx.argsJson ?? 'none'}|${canonicalJson(args)}`;
    },
    { registry, name: 'args_scribbler' },
  );
  server = await startTestServer({}, { registry });
});
afterAll(() => server.close());

test('concurrent echo calls each answer the canonical JSON of their own argument', async () => {
  const docs = Array.from({ length: 60 }, (_, n) => document(n));
  const answers = await Promise.all(docs.map((doc) => server.client.submitTask({ method: 'echo', args: [toAny(doc), toAny(n(doc))] })));
  answers.forEach((answer, i) => {
    expect(answer.status).toBe(TaskResponse_Status.SUCCESS);
    // Built independently of the server: encode → our canonical JSON of the same values.
    expect(answer.result).toBe(canonicalJson([toArg(docs[i]!), arg.int32(n(docs[i]!))]));
  });
  expect(new Set(answers.map((a) => a.result)).size).toBe(docs.length);
});

test('echo with injected dependency results answers the JSON of the injected list, not of the request', async () => {
  await server.client.submitTask({ taskId: 'echo-dep', method: 'concat', args: [toAny('dep-result')] });
  const injected = await server.client.submitTask({ method: 'echo', args: [toAny(7)], deps: ['echo-dep'], injectDependencyResults: true });
  expect(injected.result).toBe('[{"string":"dep-result"},{"int32":7}]');
  const plain = await server.client.submitTask({ method: 'echo', args: [toAny(7)], deps: ['echo-dep'] });
  expect(plain.result).toBe('[{"int32":7}]');
});

test('a task gets the JSON of its arguments, and none when dependency results were injected', async () => {
  const doc = document(3);
  const got = await server.client.submitTask({ method: 'args_json_probe', args: [toAny(doc)] });
  expect(got.result).toBe(canonicalJson([toArg(doc)]));
  await server.client.submitTask({ taskId: 'probe-dep', method: 'concat', args: [toAny('x')] });
  const injected = await server.client.submitTask({ method: 'args_json_probe', args: [toAny(doc)], deps: ['probe-dep'], injectDependencyResults: true });
  expect(injected.result).toBe('none');
});

test('a task mutating its arguments changes neither its handed JSON nor the next request', async () => {
  const first = await server.client.submitTask({ method: 'args_scribbler', args: [toAny('a')] });
  expect(first.result).toBe('[{"string":"a"}]|[{"string":"a"},{"string":"scribbled"}]');
  const second = await server.client.submitTask({ method: 'args_scribbler', args: [toAny('a')] });
  expect(second.result).toBe(first.result);
  expect(await server.client.submitTask({ method: 'echo', args: [toAny('a')] })).toMatchObject({ result: '[{"string":"a"}]' });
});

test('idempotency with long arguments (SHA-256 digest): same request answers again, a different one is refused', async () => {
  const doc = document(11);
  const first = await server.client.submitTask({ taskId: 'echo-idem', method: 'echo', args: [toAny(doc)] });
  expect(first.result.length).toBeGreaterThan(64);
  // The same values with the map entries in another wire order are the same arguments (SPEC §3).
  const reordered = arg.map([...(toArg(doc) as { value: ReadonlyMap<string, ArgValue> }).value].reverse());
  expect(await server.client.submitTask({ taskId: 'echo-idem', method: 'echo', args: [toAny(reordered)] })).toEqual(first);
  const err = await expectGrpcError(server.client.submitTask({ taskId: 'echo-idem', method: 'echo', args: [toAny(document(12))] }));
  expect(err.code).toBe(Status.ALREADY_EXISTS);
  expect(err.details).toContain('submitted with different arguments');
});

describe('argsDigest', () => {
  test('is the JSON itself up to 64 characters, else sha256: + base64 of its UTF-8 (as before crypto.hash)', () => {
    const short = [arg.int32(1), arg.int32(2)];
    expect(argsDigest(short)).toBe('[{"int32":1},{"int32":2}]');
    const long = [toArg(document(4))];
    const json = canonicalJson(long);
    expect(json).toMatch(/ünïcödé €/);
    const expected = `sha256:${createHash('sha256').update(Buffer.from(json, 'utf8')).digest('base64')}`;
    expect(argsDigest(long)).toBe(expected);
    expect(digestOfCanonicalJson(json)).toBe(expected);
    // Pinned: stored digests (memory or Redis) must keep matching resubmissions across versions.
    expect(digestOfCanonicalJson('x'.repeat(65))).toBe('sha256:lTfF/fEgSC99WNJentWD9SwCtOME6oFNsWM61WWu1+k=');
  });
});

function n(doc: JsArg): number {
  return (doc as { items: unknown[] }).items.length;
}

/** The ArgValue `toAny` packs for a plain JS value (decoded back from the Any it makes). */
function toArg(value: JsArg): ArgValue {
  return decodeArg(toAny(value));
}

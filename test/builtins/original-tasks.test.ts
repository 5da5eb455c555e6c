/** SPEC §5a: the original's built-ins over real gRPC, with their exact outputs and error texts. */
import { arg } from '../../src/args/arg-value';
import { startTestServer, type TestServer } from '../helpers/start-server';
import { anys, builtinRunner, Status, TaskResponse_Status } from './builtin-client';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

const run = builtinRunner(() => server, 'orig');
const INT64_MAX = arg.int64('9223372036854775807');
const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);

describe('add', () => {
  test('int32 arguments sum to an integer', async () => {
    expect(await run.ok('add', anys(1, 2, 3))).toBe('6');
    expect(await run.ok('add', anys(-5, 2))).toBe('-3');
    expect(await run.ok('add', anys(2147483647, 2147483647))).toBe('4294967294');
  });

  test('no arguments sum to 0', async () => {
    expect(await run.ok('add')).toBe('0');
  });

  test('integer kinds sum exactly', async () => {
    expect(await run.ok('add', anys(INT64_MAX, INT64_MAX))).toBe('18446744073709551614');
    expect(await run.ok('add', anys(arg.uint64('18446744073709551615'), 1))).toBe('18446744073709551616');
    expect(await run.ok('add', anys(arg.uint64('9007199254740993'), arg.int32(-1), arg.uint32(4294967295)))).toBe('9007203549708287');
    expect(await run.ok('add', anys(arg.int64('-9223372036854775808'), arg.int64(-1)))).toBe('-9223372036854775809');
  });

  test('a float or double makes it a double sum, floats widened exactly', async () => {
    expect(await run.ok('add', anys(arg.float(0.1)))).toBe('0.10000000149011612');
    expect(await run.ok('add', anys(1, arg.float(0.1)))).toBe('1.1000000014901161');
    expect(await run.ok('add', anys(arg.double(0.1), arg.double(0.2)))).toBe('0.30000000000000004');
    expect(await run.ok('add', anys(arg.float(1.5), arg.int64(2), arg.uint32(3)))).toBe('6.5');
    expect(await run.ok('add', anys(arg.double(0.5), 2))).toBe('2.5');
  });

  test('a non-numeric argument is INVALID "Expected Int32 for add"', async () => {
    expect(await run.invalid('add', anys('x'))).toMatch(/^Invalid arguments: Expected Int32 for add\b/);
    expect(await run.invalid('add', anys(1, true))).toMatch(/^Invalid arguments: Expected Int32 for add\b/);
    expect(await run.invalid('add', anys(1, [2]))).toMatch(/^Invalid arguments: Expected Int32 for add\b/);
    expect(await run.invalid('add', anys(1, 2, null))).toMatch(/^Invalid arguments: Expected Int32 for add\b/);
  });
});

describe('remove', () => {
  test('first minus the sum of the rest', async () => {
    expect(await run.ok('remove', anys(10, 3, 2))).toBe('5');
    expect(await run.ok('remove', anys(1, 2))).toBe('-1');
    expect(await run.ok('remove', anys(0, -7))).toBe('7');
  });

  test('a non-int32 argument is INVALID', async () => {
    const expected = /^Invalid arguments: Invalid argument type for remove, expected Int32\b/;
    expect(await run.invalid('remove', anys(10, 'x'))).toMatch(expected);
    expect(await run.invalid('remove', anys(arg.int64(10), 3))).toMatch(expected);
    expect(await run.invalid('remove', anys(10, arg.double(1)))).toMatch(expected);
  });

  test('fewer than 2 arguments is INVALID', async () => {
    expect(await run.invalid('remove', anys(10))).toMatch(/^Invalid arguments: Need at least 2 arguments for remove\b/);
    expect(await run.invalid('remove')).toMatch(/^Invalid arguments: Need at least 2 arguments for remove\b/);
  });

  test('the rejection is recorded as FAILED with the task message (no prefix)', async () => {
    const { taskId } = await run.error('remove', anys(10), Status.INVALID_ARGUMENT);
    const got = await server.client.getResult({ taskId });
    expect(got.status).toBe(TaskResponse_Status.FAILED);
    expect(got.result).toMatch(/^Need at least 2 arguments for remove\b/);
  });
});

describe('delete', () => {
  test('waits 100 ms and counts its arguments', async () => {
    const { result, elapsedMs } = await run.timed('delete', anys(1, 'a', [true]));
    expect(result).toBe('Deleted 3 items');
    expect(elapsedMs).toBeGreaterThanOrEqual(95);
    expect(await run.ok('delete')).toBe('Deleted 0 items');
  });
});

describe('process_collection', () => {
  test('counts a list and a map', async () => {
    expect(await run.ok('process_collection', anys([1, 2], { a: 'x' }))).toBe('Array: 2 items, Map: 1 items');
    expect(await run.ok('process_collection', anys([], {}))).toBe('Array: 0 items, Map: 0 items');
  });

  test('errors', async () => {
    expect(await run.invalid('process_collection', anys([1]))).toMatch(/^Invalid arguments: Expected two arguments\b/);
    expect(await run.invalid('process_collection', anys([1], {}, 3))).toMatch(/^Invalid arguments: Expected two arguments\b/);
    expect(await run.invalid('process_collection')).toMatch(/^Invalid arguments: Expected two arguments\b/);
    expect(await run.invalid('process_collection', anys({}, {}))).toMatch(/^Invalid arguments: First argument is not an array\b/);
    expect(await run.invalid('process_collection', anys([1], [2]))).toMatch(/^Invalid arguments: Second argument is not a map\b/);
  });
});

describe('echo_bool / echo_string / echo_bytes', () => {
  test('echo_bool: values joined with ",", "" for other kinds', async () => {
    expect(await run.ok('echo_bool', anys(true, false, true))).toBe('true,false,true');
    expect(await run.ok('echo_bool', anys(true, 'x', 1, false))).toBe('true,,,false');
    expect(await run.ok('echo_bool')).toBe('');
  });

  test('echo_string: strings joined with ",", "" for other kinds', async () => {
    expect(await run.ok('echo_string', anys('a', 'héllo', 'c d'))).toBe('a,héllo,c d');
    expect(await run.ok('echo_string', anys('a', 1, true, 'b'))).toBe('a,,,b');
    expect(await run.ok('echo_string', anys(''))).toBe('');
  });

  test('echo_bytes: UTF-8 text joined with ",", "" for other kinds', async () => {
    expect(await run.ok('echo_bytes', anys(utf8('hello'), utf8('wörld ✓')))).toBe('hello,wörld ✓');
    expect(await run.ok('echo_bytes', anys(utf8('a'), 'not bytes', 7, utf8('b')))).toBe('a,,,b');
    expect(await run.ok('echo_bytes', anys(new Uint8Array()))).toBe('');
  });

  test('echo_bytes: invalid UTF-8 is INVALID', async () => {
    expect(await run.invalid('echo_bytes', anys(Uint8Array.of(0xff, 0xfe)))).toMatch(/^Invalid arguments: Invalid UTF-8 bytes: /);
    expect(await run.invalid('echo_bytes', anys(utf8('ok'), Uint8Array.of(0x61, 0xc3)))).toMatch(/^Invalid arguments: Invalid UTF-8 bytes: /);
  });
});

describe('process_nested_list', () => {
  test('describes each inner list, each piece ending with one space', async () => {
    expect(await run.ok('process_nested_list', anys([['a', 'b'], ['c']]))).toBe(
      'Received nested list with 2 inner lists: [List 0 (2 items): a, b] [List 1 (1 items): c] ',
    );
    expect(await run.ok('process_nested_list', anys([[], 'x', ['y', 3, 'z']]))).toBe(
      'Received nested list with 3 inner lists: [List 0 (0 items): ] [Item 1 is not a list] [List 2 (3 items): y, z] ',
    );
    expect(await run.ok('process_nested_list', anys([]))).toBe('Received nested list with 0 inner lists: ');
  });

  test('a first argument that is not a list is INVALID', async () => {
    expect(await run.invalid('process_nested_list', anys({ a: [1] }))).toBe('Invalid arguments: Expected a nested list argument.');
    expect(await run.invalid('process_nested_list')).toBe('Invalid arguments: Expected a nested list argument.');
  });
});

describe('process_complex_map', () => {
  const metadata = { source: 'web', timestamp: '2024-01-01' };

  test('a full map', async () => {
    const map = { id: arg.int64(42), active: true, metadata, tags: ['a', 'b'] };
    expect(await run.ok('process_complex_map', anys(map))).toBe(
      'Received complex map: ID=42, Active=true, Metadata={ source=web, timestamp=2024-01-01 }, Tags=[a, b]',
    );
  });

  test('partial maps drop the missing parts and one trailing ", "', async () => {
    expect(await run.ok('process_complex_map', anys({ id: arg.int64(-7), active: false }))).toBe('Received complex map: ID=-7, Active=false');
    expect(await run.ok('process_complex_map', anys({ metadata }))).toBe('Received complex map: Metadata={ source=web, timestamp=2024-01-01 }');
    expect(await run.ok('process_complex_map', anys({ metadata: { source: 'app' } }))).toBe('Received complex map: Metadata={ source=app,  }');
    expect(await run.ok('process_complex_map', anys({ tags: ['x', 1, 'y'] }))).toBe('Received complex map: Tags=[x, y]');
    expect(await run.ok('process_complex_map', anys({}))).toBe('Received complex map: ');
  });

  test('an id that is not int64 (and other mistyped fields) is skipped', async () => {
    expect(await run.ok('process_complex_map', anys({ id: 42, active: true }))).toBe('Received complex map: Active=true');
    expect(await run.ok('process_complex_map', anys({ id: arg.int64(1), active: 'yes', tags: 'a' }))).toBe('Received complex map: ID=1');
  });

  test('a first argument that is not a map is INVALID', async () => {
    expect(await run.invalid('process_complex_map', anys([1]))).toBe('Invalid arguments: Expected a map argument.');
    expect(await run.invalid('process_complex_map')).toBe('Invalid arguments: Expected a map argument.');
  });
});

describe('process_person_map', () => {
  test('a full person, float scores in their shortest float32 text', async () => {
    const person = { name: 'Alice', age: 30, isStudent: true, scores: [arg.float(95.5), arg.float(0.1), arg.double(88.25)] };
    expect(await run.ok('process_person_map', anys(person))).toBe('Processing person: Name=Alice, Age=30, IsStudent=true, Scores=[95.5, 0.1, 88.25]');
  });

  test('partial persons drop one trailing ", "; other score kinds are skipped', async () => {
    expect(await run.ok('process_person_map', anys({ name: 'Bob', age: 25 }))).toBe('Processing person: Name=Bob, Age=25');
    expect(await run.ok('process_person_map', anys({ age: arg.int64(25), isStudent: false }))).toBe('Processing person: IsStudent=false');
    // The original reads `isStudent` only: a snake_case key is just another unknown key.
    expect(await run.ok('process_person_map', anys({ name: 'Eve', is_student: true }))).toBe('Processing person: Name=Eve');
    expect(await run.ok('process_person_map', anys({ scores: [1, arg.double(0.1), 'x', arg.float(3)] }))).toBe('Processing person: Scores=[0.1, 3]');
    expect(await run.ok('process_person_map', anys({ scores: [] }))).toBe('Processing person: Scores=[]');
    expect(await run.ok('process_person_map', anys({}))).toBe('Processing person: ');
  });

  test('a first argument that is not a map is INVALID', async () => {
    expect(await run.invalid('process_person_map', anys('Alice'))).toBe('Invalid arguments: Expected a person map argument.');
    expect(await run.invalid('process_person_map')).toBe('Invalid arguments: Expected a person map argument.');
  });
});

describe('ping', () => {
  test('pong, or pong: <s> for a first string argument', async () => {
    expect(await run.ok('ping')).toBe('pong');
    expect(await run.ok('ping', anys('hi'))).toBe('pong: hi');
    expect(await run.ok('ping', anys(1, 'hi'))).toBe('pong');
  });
});

describe('sum_list', () => {
  test('sums int32 and int64 elements, skipping the others', async () => {
    expect(await run.ok('sum_list', anys([1, 2, 3]))).toBe('6');
    expect(await run.ok('sum_list', anys([1, arg.int64('1099511627776'), 'x', arg.double(1.5), arg.uint32(7), [4]]))).toBe('1099511627777');
    expect(await run.ok('sum_list', anys([]))).toBe('0');
  });

  test('a first argument that is not a list is INVALID', async () => {
    expect(await run.invalid('sum_list', anys(5))).toBe('Invalid arguments: Expected a list argument.');
    expect(await run.invalid('sum_list')).toBe('Invalid arguments: Expected a list argument.');
  });
});

describe('fibonacci', () => {
  test('waits 50 ms, then fib(n)', async () => {
    const { result, elapsedMs } = await run.timed('fibonacci', anys(10));
    expect(result).toBe('55');
    expect(elapsedMs).toBeGreaterThanOrEqual(45);
    expect(await run.ok('fibonacci', anys(0))).toBe('0');
    expect(await run.ok('fibonacci', anys(1))).toBe('1');
    expect(await run.ok('fibonacci', anys(30))).toBe('832040');
  });

  test('bad input gives "Error: …" texts as successful results', async () => {
    expect(await run.ok('fibonacci', anys(-1))).toBe('Error: Input must be non-negative');
    expect(await run.ok('fibonacci', anys('10'))).toBe('Error: Expected an integer argument');
    expect(await run.ok('fibonacci', anys(arg.int64(10)))).toBe('Error: Expected an integer argument');
    expect(await run.ok('fibonacci')).toBe('Error: Expected an integer argument');
  });
});

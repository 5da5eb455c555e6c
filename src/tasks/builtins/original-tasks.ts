/**
 * The original service's built-in tasks (SPEC §5a): same names, same outputs, same error texts — its
 * test suite depends on them.
 */
import type { ArgValue } from '../../args/arg-value';
import { formatDouble, formatFloat32 } from '../../args/format-float';
import { InvalidArgumentsError } from '../../errors';
import { sleep } from '../task-args';
import type { TaskContext } from '../task-context';
import type { TaskRegistry } from '../task-registry';
import { asyncTask, syncTask } from '../task-registry';

/** Sum of numeric args: int32 → integer; any integer kinds → exact; any float/double → double sum. */
export function add(args: readonly ArgValue[]): string {
  let onlyInt32 = true;
  let anyFloat = false;
  for (let i = 0; i < args.length; i++) {
    switch (args[i]!.kind) {
      case 'int32':
        break;
      case 'int64':
      case 'uint32':
      case 'uint64':
        onlyInt32 = false;
        break;
      case 'float':
      case 'double':
        anyFloat = true;
        break;
      default:
        throw new InvalidArgumentsError(`Expected Int32 for add, got ${args[i]!.kind} at args[${i}]`);
    }
  }
  if (anyFloat) {
    let sum = 0;
    for (const value of args) sum += typeof value.value === 'number' ? value.value : Number(String(value.value));
    return formatDouble(sum);
  }
  if (onlyInt32) {
    // int32 sums are exact in a double for any realistic argument count (< 2^22 args).
    let sum = 0;
    for (const value of args) sum += value.value as number;
    return String(sum);
  }
  let sum = 0n;
  for (const value of args) sum += BigInt(String(value.value));
  return sum.toString();
}

/** First int32 minus the sum of the rest. */
export function remove(args: readonly ArgValue[]): string {
  for (let i = 0; i < args.length; i++) {
    if (args[i]!.kind !== 'int32') {
      throw new InvalidArgumentsError(`Invalid argument type for remove, expected Int32: args[${i}] is ${args[i]!.kind}`);
    }
  }
  if (args.length < 2) throw new InvalidArgumentsError(`Need at least 2 arguments for remove, got ${args.length}`);
  let result = args[0]!.value as number;
  for (let i = 1; i < args.length; i++) result -= args[i]!.value as number;
  return String(result);
}

/** Waits 100 ms, then reports how many items it "deleted". */
async function deleteTask(args: readonly ArgValue[], ctx: Pick<TaskContext, 'onAbort'>): Promise<string> {
  await sleep(100, ctx);
  return `Deleted ${args.length} items`;
}

function processCollection(args: readonly ArgValue[]): string {
  if (args.length !== 2) throw new InvalidArgumentsError(`Expected two arguments, got ${args.length}`);
  const [first, second] = args as [ArgValue, ArgValue];
  if (first.kind !== 'list') throw new InvalidArgumentsError(`First argument is not an array: args[0] is ${first.kind}`);
  if (second.kind !== 'map') throw new InvalidArgumentsError(`Second argument is not a map: args[1] is ${second.kind}`);
  return `Array: ${first.value.length} items, Map: ${second.value.size} items`;
}

function echoBool(args: readonly ArgValue[]): string {
  return args.map((value) => (value.kind === 'bool' ? String(value.value) : '')).join(',');
}

function echoString(args: readonly ArgValue[]): string {
  return args.map((value) => (value.kind === 'string' ? value.value : '')).join(',');
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function echoBytes(args: readonly ArgValue[]): string {
  return args
    .map((value, i) => {
      if (value.kind !== 'bytes') return '';
      try {
        return strictUtf8.decode(value.value);
      } catch {
        throw new InvalidArgumentsError(`Invalid UTF-8 bytes: args[${i}] (${value.value.length} bytes) is not valid UTF-8`);
      }
    })
    .join(',');
}

function stringsOf(values: readonly ArgValue[]): string[] {
  const out: string[] = [];
  for (const value of values) if (value.kind === 'string') out.push(value.value);
  return out;
}

function processNestedList(args: readonly ArgValue[]): string {
  const first = args[0];
  if (first?.kind !== 'list') throw new InvalidArgumentsError('Expected a nested list argument.');
  let out = `Received nested list with ${first.value.length} inner lists: `;
  first.value.forEach((item, i) => {
    out += item.kind === 'list' ? `[List ${i} (${item.value.length} items): ${stringsOf(item.value).join(', ')}] ` : `[Item ${i} is not a list] `;
  });
  return out;
}

function trimTrailingComma(text: string): string {
  return text.endsWith(', ') ? text.slice(0, -2) : text;
}

function processComplexMap(args: readonly ArgValue[]): string {
  const first = args[0];
  if (first?.kind !== 'map') throw new InvalidArgumentsError('Expected a map argument.');
  const map = first.value;
  let out = 'Received complex map: ';
  const id = map.get('id');
  if (id?.kind === 'int64') out += `ID=${id.value.toString()}, `;
  const active = map.get('active');
  if (active?.kind === 'bool') out += `Active=${active.value}, `;
  const metadata = map.get('metadata');
  if (metadata?.kind === 'map') {
    out += 'Metadata={ ';
    const source = metadata.value.get('source');
    if (source?.kind === 'string') out += `source=${source.value}, `;
    const timestamp = metadata.value.get('timestamp');
    if (timestamp?.kind === 'string') out += `timestamp=${timestamp.value}`;
    out += ' }, ';
  }
  const tags = map.get('tags');
  if (tags?.kind === 'list') out += `Tags=[${stringsOf(tags.value).join(', ')}]`;
  return trimTrailingComma(out);
}

function processPersonMap(args: readonly ArgValue[]): string {
  const first = args[0];
  if (first?.kind !== 'map') throw new InvalidArgumentsError('Expected a person map argument.');
  const map = first.value;
  let out = 'Processing person: ';
  const name = map.get('name');
  if (name?.kind === 'string') out += `Name=${name.value}, `;
  const age = map.get('age');
  if (age?.kind === 'int32') out += `Age=${age.value}, `;
  // The original's key is camelCase (`isStudent`), unlike `name`/`age`/`scores`; its clients send that.
  const isStudent = map.get('isStudent');
  if (isStudent?.kind === 'bool') out += `IsStudent=${isStudent.value}, `;
  const scores = map.get('scores');
  if (scores?.kind === 'list') {
    const texts: string[] = [];
    for (const score of scores.value) {
      if (score.kind === 'float') texts.push(formatFloat32(score.value));
      else if (score.kind === 'double') texts.push(formatDouble(score.value));
    }
    out += `Scores=[${texts.join(', ')}]`;
  }
  return trimTrailingComma(out);
}

function ping(args: readonly ArgValue[]): string {
  const first = args[0];
  return first?.kind === 'string' ? `pong: ${first.value}` : 'pong';
}

function sumList(args: readonly ArgValue[]): string {
  const first = args[0];
  if (first?.kind !== 'list') throw new InvalidArgumentsError('Expected a list argument.');
  let sum = 0n;
  for (const value of first.value) {
    if (value.kind === 'int32') sum += BigInt(value.value);
    else if (value.kind === 'int64') sum += BigInt(value.value.toString());
  }
  return sum.toString();
}

/** Largest n `fibonacci` computes; beyond it the original would never have finished (naive recursion). */
export const FIBONACCI_MAX_N = 10_000;

async function fibonacci(args: readonly ArgValue[], ctx: Pick<TaskContext, 'onAbort'>): Promise<string> {
  const first = args[0];
  if (first?.kind !== 'int32') return 'Error: Expected an integer argument';
  if (first.value < 0) return 'Error: Input must be non-negative';
  if (first.value > FIBONACCI_MAX_N) return `Error: Input must be at most ${FIBONACCI_MAX_N}`;
  await sleep(50, ctx);
  // Same value as the original's naive recursion, computed iteratively so it never blocks the server.
  let [a, b] = [0n, 1n];
  for (let i = 0; i < first.value; i++) [a, b] = [b, a + b];
  return a.toString();
}

/** Registers the original's built-ins (SPEC §5a) into `registry`. */
export function registerOriginalTasks(registry: TaskRegistry): void {
  const builtin = { registry, source: 'builtin' } as const;
  syncTask(add, { ...builtin, description: 'Sum of numeric arguments (exact for integers)' });
  syncTask(remove, { ...builtin, description: 'First int32 argument minus the sum of the others' });
  asyncTask(deleteTask, { ...builtin, name: 'delete', description: 'Waits 100 ms: "Deleted <n> items"' });
  syncTask(processCollection, { ...builtin, name: 'process_collection', description: 'Counts the items of a list and a map' });
  syncTask(echoBool, { ...builtin, name: 'echo_bool', description: 'Echoes bool arguments, comma-separated' });
  syncTask(echoString, { ...builtin, name: 'echo_string', description: 'Echoes string arguments, comma-separated' });
  syncTask(echoBytes, { ...builtin, name: 'echo_bytes', description: 'Echoes bytes arguments as UTF-8, comma-separated' });
  syncTask(processNestedList, { ...builtin, name: 'process_nested_list', description: 'Describes a list of lists' });
  syncTask(processComplexMap, { ...builtin, name: 'process_complex_map', description: 'Describes a map with id, active, metadata and tags' });
  syncTask(processPersonMap, { ...builtin, name: 'process_person_map', description: 'Describes a person map' });
  syncTask(ping, { ...builtin, description: '"pong", or "pong: <s>" for a string argument' });
  syncTask(sumList, { ...builtin, name: 'sum_list', description: 'Sum of the integers in a list' });
  asyncTask(fibonacci, { ...builtin, description: 'Waits 50 ms, then the n-th Fibonacci number' });
}

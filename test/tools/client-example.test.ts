/** The README's client example (examples/client-example.ts), run against a real server. */
import { main } from '../../examples/client-example';
import { startTestServer, type TestServer } from '../helpers/start-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(() => server.close());

test('the client example prints exactly what its documentation says', async () => {
  const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    const lines = await main(server.address);
    expect(lines).toEqual([
      'add(1, 2, 9007199254740993) = 9007199254740996 (SUCCESS)',
      'sleep(200) submitted detached: PENDING',
      'sleep finished: SUCCESS, slept 200 ms',
      'no_such_task failed: NOT_FOUND Method not found: no_such_task',
    ]);
    expect(log.mock.calls).toEqual(lines.map((line) => [line]));
  } finally {
    log.mockRestore();
  }
}, 30_000);

test('running it twice against the same server prints the same lines (nothing is keyed by a fixed id)', async () => {
  jest.spyOn(console, 'log').mockImplementation(() => undefined);
  try {
    const [first, second] = [await main(server.address), await main(server.address)];
    expect(second).toEqual(first);
  } finally {
    jest.restoreAllMocks();
  }
}, 30_000);

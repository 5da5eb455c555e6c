/**
 * Runs `count` async jobs with at most `concurrency` in flight: the way a real client fans out (an
 * unbounded Promise.all of 10,000 calls would measure the client's queueing, not the server).
 */
export async function runBounded(count: number, concurrency: number, job: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && next < count) {
      const index = next++;
      try {
        await job(index);
      } catch (error) {
        // First failure wins; the other workers finish their current job and stop.
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  if (failure) throw failure.error;
}

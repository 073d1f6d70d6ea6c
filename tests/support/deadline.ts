/**
 * A safety net for tests that wait for the server to do something on its own (time out a
 * slow client, close an idle connection): if it never happens the test fails after `ms`
 * instead of hanging CI. It is never used to assert speed.
 *
 * @module
 */

/** Resolves like `promise`, or rejects if it has not settled within `ms`. */
export async function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Gave up after ${ms} ms waiting for ${what}`)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits (yielding to the event loop) until `condition()` holds; fails after `ms`. */
export async function waitUntil(condition: () => boolean, ms: number, what: string): Promise<void> {
  const start = performance.now();
  while (!condition()) {
    if (performance.now() - start > ms) {
      throw new Error(`Gave up after ${ms} ms waiting for ${what}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

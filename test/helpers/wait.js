// Bounded polling for tests, in one place: waitFor() returns fn's first truthy value or throws
// after timeoutMs (fn's errors count as "not yet"); until() answers true, or false at the timeout.
const pause = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn() until it returns a truthy value; bounded in time and count; throws at the timeout. */
export async function waitFor(fn, { timeoutMs = 60_000, intervalMs = 250, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / intervalMs) + 1;
  let last;
  for (let i = 0; i < maxTries; i++) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await pause(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
}

/** Polls predicate() until it is truthy: true, or false once timeoutMs has passed. */
export async function until(predicate, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await predicate()) return true;
    await pause(intervalMs);
  }
  return false;
}

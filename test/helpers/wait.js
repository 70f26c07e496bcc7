// Bounded polling for tests, in one place: waitFor() returns fn's first truthy value or throws
// after timeoutMs (fn's errors count as "not yet"); until() answers true, or false at the timeout;
// waitUntil() waits for an event a unit test expects (polling every 10 ms, cond's errors fail at
// once), so tests never sleep a fixed time and then assert (a loaded 2-core machine runs timers
// late, never early). `what` may be a function, called at the timeout, so the message shows the
// state then. Each stops polling once it has given up.
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

/** Polls cond() until it holds; rejects once at the timeout (message from `what`) or when cond throws. */
export function waitUntil(cond, ms, what, intervalMs = 10) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = async () => {
      let value;
      try {
        value = await cond();
      } catch (err) {
        reject(err);
        return;
      }
      if (value) resolve(value);
      else if (Date.now() >= deadline) reject(new Error(`timeout after ${ms} ms: ${typeof what === 'function' ? what() : what}`));
      else setTimeout(tick, intervalMs);
    };
    tick();
  });
}

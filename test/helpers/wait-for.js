// waitFor(): polls a condition until it holds, bounded in time; on timeout it rejects once and
// stops polling. Tests wait for the event they expect with it instead of sleeping a fixed time
// and then asserting (a loaded 2-core machine runs timers late, never early). `what` may be a
// function, called at the timeout, so the message shows the state then.
export function waitFor(cond, ms, what, intervalMs = 10) {
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

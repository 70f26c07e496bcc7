// The away clock (src/session/away-clock.ts): a process that did not run for a while (stopped,
// the machine asleep) is told how long; ordinary timer lateness is not.
import t from 'tap';
import { AwayClock } from '../../../../dist/src/session/away-clock.js';

t.test('away: the gap on the wall clock', async (t) => {
  const clock = new AwayClock();
  t.teardown(() => clock.stop());
  const now = Date.now();
  t.equal(clock.recentAwayMs(30_000, now + 2000), undefined, 'a check 2 s on is no absence');
  const away = clock.recentAwayMs(30_000, now + 60_000);
  t.ok(away >= 59_000 && away <= 61_000, `a check a minute on: away a minute (${away} ms)`);
});

// SelfHealingUpstream (src/session/self-healing.ts) with small fakes for pods and tunnels (the
// real thing is test/e2e/run-pod-loss.test.js and the chaos suite): a pod found gone is replaced,
// open() waits meanwhile, one line each way, the tunnel's own "lost" line is dropped, a closed-by
// mark ends the session instead, a Lease deleted without one counts as a loss, a start that keeps
// failing gives up with one line, close() during a replacement deletes what was made, a loss
// found right after being away longer than the grace says so.
import t from 'tap';
import { PassThrough } from 'node:stream';
import { LOST_LINE_HOLD_MS, SelfHealingUpstream } from '../../../../dist/src/session/self-healing.js';
import { KinjectError } from '../../../../dist/src/errors.js';
import { until } from '../../../../test/helpers/wait.js';

let n = 0;
function fakePod() {
  let resolveClosed;
  const pod = {
    namespace: 'ns',
    podName: `kinject-p${++n}-x`,
    closedCount: 0,
    lease: { closed: new Promise((r) => (resolveClosed = r)), closedByMark: false },
    endLease(why, mark) {
      pod.lease.closedByMark = mark;
      resolveClosed(why);
    },
    close: async () => {
      pod.closedCount++;
    },
  };
  return pod;
}

function harness(t, { startPod, ...more } = {}) {
  const lines = [];
  const tunnels = [];
  const started = [];
  const log = { info: () => {}, debug: () => {}, warn: (l) => lines.push(l), event: () => {} };
  const up = new SelfHealingUpstream({
    pod: fakePod(),
    log,
    giveUpMs: 3000,
    ...more,
    startPod:
      startPod ??
      (async () => {
        const p = fakePod();
        started.push(p);
        return p;
      }),
    tunnelTo: (pod, hooks) => {
      const tunnel = {
        pod,
        hooks,
        closed: false,
        podExited: false,
        open: async () => {
          if (tunnel.gone) throw tunnel.gone;
          return new PassThrough();
        },
        ready: async () => {},
        close: async () => {
          tunnel.closed = true;
        },
        loseIt(why = 'deleted') {
          tunnel.gone = new KinjectError(`the proxy pod ns/${pod.podName} is gone (${why}); restart kinject`);
          hooks.onGone(tunnel.gone);
        },
      };
      tunnels.push(tunnel);
      return tunnel;
    },
  });
  t.teardown(() => up.close());
  return { up, lines, tunnels, started };
}

t.test('a gone pod is replaced; open() meanwhile waits; one line each way', async (t) => {
  const { up, lines, tunnels, started } = harness(t);
  const first = up.currentPod;
  tunnels[0].hooks.warn('the tunnel to the proxy pod ns/x was lost (EOF); open connections were reset, reconnecting');
  tunnels[0].loseIt();
  const s = await up.open();
  t.ok(s, 'open() during the loss got a stream from the new pod');
  t.equal(up.replacements, 1);
  t.equal(started.length, 1);
  t.not(up.currentPod, first);
  t.equal(first.closedCount, 1, 'the lost pod is deleted (what is left of it)');
  t.ok(tunnels[0].closed, 'the old tunnel is closed');
  await new Promise((r) => setTimeout(r, LOST_LINE_HOLD_MS + 300)); // the held "lost" line stays dropped
  t.equal(lines.length, 2, lines.join('\n'));
  t.match(lines[0], /^the proxy pod ns\/kinject-p\d+-x is gone \(deleted\); making a new one \(open connections were reset\)$/);
  t.match(lines[1], /^the session is back: new proxy pod ns\/kinject-p\d+-x \(\d+\.\d s after the loss\)$/);
});

t.test('a second gone report for the same pod is ignored', async (t) => {
  const { up, tunnels, started, lines } = harness(t);
  tunnels[0].loseIt();
  tunnels[0].hooks.onGone(new KinjectError('again'));
  await up.ready();
  t.equal(started.length, 1);
  t.equal(lines.filter((l) => /is gone/.test(l)).length, 1);
});

t.test('a closed-by mark ends the session: nothing is remade', async (t) => {
  const { up, started } = harness(t);
  up.currentPod.endLease('session ns/kinject-p was closed by me', true);
  t.equal(await up.closed, 'session ns/kinject-p was closed by me');
  t.equal(started.length, 0);
});

t.test('a Lease deleted without a mark (its Job went after the pod) is a loss', async (t) => {
  const { up, started, lines } = harness(t);
  up.currentPod.endLease('session was closed by someone else: its Lease and Job were deleted', false);
  t.ok(await until(() => started.length === 1, { timeoutMs: 2000 }), 'a new pod is being made');
  await up.ready();
  t.match(lines[0], /is gone \(its Job and Lease were deleted\); making a new one/);
});

t.test('a start that keeps failing gives up with one line; open() then fails with it', async (t) => {
  let tries = 0;
  const { up, tunnels, lines } = harness(t, {
    startPod: async () => {
      tries++;
      throw new Error('the API server is away');
    },
  });
  tunnels[0].loseIt();
  await t.rejects(up.open(), /the proxy pod was lost and a new one could not be made: the API server is away; restart kinject/);
  t.ok(tries >= 2, `retried (${tries} tries)`);
  t.equal(lines.filter((l) => /could not be made/.test(l)).length, 1);
});

t.test('close() during a replacement: the pod being made is deleted', async (t) => {
  let release;
  const made = fakePod();
  const { up, tunnels } = harness(t, {
    startPod: () =>
      new Promise((r) => {
        release = () => r(made);
      }),
  });
  tunnels[0].loseIt();
  t.ok(await until(() => release, { timeoutMs: 2000 }), 'the new pod is being made');
  const closing = up.closePod();
  release();
  await closing;
  t.equal(made.closedCount, 1, 'the late pod was deleted');
});

t.test('a loss found right after being away longer than the grace: the line says so', async (t) => {
  const away = { ms: 62_000, recentAwayMs: () => away.ms, stop: () => {} };
  const { up, lines, tunnels } = harness(t, { graceSeconds: 15, awayClock: away });
  tunnels[0].loseIt('not found');
  await up.open();
  t.match(
    lines[0],
    /^kinject was stopped or asleep for 62 s, longer than the session's grace \(15 s\), and the cluster ended the session meanwhile \(the proxy pod ns\/kinject-p\d+-x is gone \(not found\)\); making a new proxy pod/,
  );
  away.ms = 10_000;
  tunnels[1].loseIt();
  await up.open();
  t.match(lines.at(-2), /^the proxy pod ns\/kinject-p\d+-x is gone \(deleted\); making a new one/, 'away for less than the grace: the usual line');
});

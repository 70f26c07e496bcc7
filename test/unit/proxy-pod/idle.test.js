// The --exit-when-idle decision (proxy-pod/idle.ts) with a fake clock and fake activity sources:
// before any heartbeat, open connections keep the server up; after one, only heartbeats, new or
// closed connections and bytes from clients do (for the grace time), so connections left open by
// a vanished port-forward no longer keep an orphaned pod alive. Also SocketActivity on real sockets.
import t from 'tap';
import net from 'node:net';
import { IdleWatch } from '../../../dist/proxy-pod/idle.js';
import { SocketActivity } from '../../../dist/proxy-pod/activity.js';

function fake() {
  const src = {
    open: 0,
    count: 0,
    connections() {
      return this.open;
    },
    activity() {
      return this.count;
    },
  };
  const clock = { t: 1000, now: () => clock.t };
  const idle = [];
  const watch = new IdleWatch({ idleMs: 30_000, sources: [src], onIdle: (r) => idle.push(r), now: clock.now, tickMs: 0 });
  const at = (ms) => {
    clock.t = 1000 + ms;
    return watch.check();
  };
  return { src, watch, idle, at };
}

t.test('no heartbeat: idle = no open connection for idleMs, counted from start', async (t) => {
  const { idle, at } = fake();
  t.equal(at(29_999), false);
  t.equal(at(30_000), true);
  t.same(idle, [{ kind: 'no-connections' }]);
  t.equal(at(90_000), false, 'reported once');
  t.equal(idle.length, 1);
});

t.test('no heartbeat: an open (quiet) connection keeps it up; idleMs after it closed, idle', async (t) => {
  const { src, idle, at } = fake();
  src.open = 1;
  src.count = 1;
  t.equal(at(1000), false);
  t.equal(at(600_000), false, 'ten minutes with a quiet connection');
  src.open = 0;
  src.count = 2; // closed
  t.equal(at(601_000), false);
  t.equal(at(630_999), false);
  t.equal(at(631_000), true);
  t.same(idle, [{ kind: 'no-connections' }]);
});

t.test('after a heartbeat: open connections alone no longer keep it up (grace: 60 s by default)', async (t) => {
  const { src, watch, idle, at } = fake();
  src.open = 3;
  src.count = 3;
  at(1000);
  watch.heartbeat();
  t.ok(watch.heartbeatMode);
  const firedAt = [];
  for (let s = 5; s <= 300; s += 5) {
    if (at(1000 + s * 1000)) firedAt.push(s);
    watch.heartbeat(); // every 5 s: the runner is there
  }
  t.same(firedAt, [], 'never idle over 300 s of heartbeats every 5 s (listed: seconds it fired)');
  // the runner vanished (API server restart, kill -9): the 3 connections stay open in the pod
  t.equal(at(1000 + 330_000), false, 'idleMs (30 s) is not enough while connections are open');
  t.equal(at(1000 + 359_999), false);
  t.equal(at(1000 + 360_000), true, 'max(idleMs, 60 s) after the last heartbeat');
  t.same(idle, [{ kind: 'no-heartbeat', open: 3 }]);
});

t.test('after a heartbeat: with every connection closed, idleMs as before', async (t) => {
  const { src, watch, idle, at } = fake();
  src.open = 5;
  src.count = 5;
  watch.heartbeat();
  src.open = 0;
  src.count = 10; // the runner closed its tunnel
  t.equal(at(2000), false);
  t.equal(at(31_999), false);
  t.equal(at(32_000), true);
  t.same(idle, [{ kind: 'no-connections' }]);
});

t.test('graceMs can be set', async (t) => {
  const src = { connections: () => 1, activity: () => 1 };
  const clock = { t: 0 };
  const idle = [];
  const watch = new IdleWatch({ idleMs: 1000, graceMs: 5000, sources: [src], onIdle: (r) => idle.push(r), now: () => clock.t, tickMs: 0 });
  watch.heartbeat();
  clock.t = 4999;
  t.equal(watch.check(), false);
  clock.t = 5000;
  t.equal(watch.check(), true);
  t.same(idle, [{ kind: 'no-heartbeat', open: 1 }]);
});

t.test('after a heartbeat: client bytes and new connections count as activity', async (t) => {
  const { src, watch, idle, at } = fake();
  src.open = 1;
  src.count = 1;
  watch.heartbeat();
  // no heartbeats any more, but a connection carries traffic (an sshfs ServerAlive every 15 s)
  const firedAt = [];
  for (let s = 15; s <= 600; s += 15) {
    src.count += 40;
    if (at(s * 1000)) firedAt.push(s);
  }
  t.same(firedAt, [], 'never idle over 600 s of client bytes every 15 s (listed: seconds it fired)');
  t.equal(at(659_000), false);
  src.count += 1; // a new connection
  t.equal(at(680_000), false);
  t.equal(at(739_999), false);
  t.equal(at(740_000), true);
  t.same(idle, [{ kind: 'no-heartbeat', open: 1 }]);
});

t.test('stop() ends the watch; the default timer polls on its own', async (t) => {
  const { watch, idle, at } = fake();
  watch.stop();
  t.equal(at(60_000), false);
  t.equal(idle.length, 0);
  const src = { connections: () => 0, activity: () => 0 };
  const keep = setTimeout(() => {}, 5000); // the watch's own timer is unref'd
  const hit = await new Promise((resolve) => {
    const w = new IdleWatch({ idleMs: 200, sources: [src], onIdle: resolve });
    t.teardown(() => w.stop());
  });
  clearTimeout(keep);
  t.same(hit, { kind: 'no-connections' });
});

t.test('SocketActivity: opens, closes and received bytes move the counter; sent bytes do not', async (t) => {
  const act = new SocketActivity();
  const accepted = [];
  const server = net.createServer((s) => {
    act.add(s);
    accepted.push(s);
    s.on('error', () => {});
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => server.close());
  const c = net.connect(server.address().port, '127.0.0.1');
  await new Promise((r) => c.once('connect', r));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(act.connections(), 1);
  const a0 = act.activity();
  t.ok(a0 >= 1);
  accepted[0].write('x'.repeat(1000)); // the server sends: not activity
  await new Promise((r) => c.once('data', r));
  t.equal(act.activity(), a0, 'bytes sent to the client do not count');
  c.write('hello');
  await new Promise((r) => accepted[0].once('data', r));
  t.equal(act.activity(), a0 + 5, 'bytes from the client count');
  c.destroy();
  await new Promise((r) => accepted[0].once('close', r));
  t.equal(act.connections(), 0);
  t.equal(act.activity(), a0 + 6, 'the close counts; received bytes are kept');
});

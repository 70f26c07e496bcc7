// The inspection server's rows (src/inspect/store.ts): a connection's close replaces its open row,
// a connection gets the name it came from (or the address its name resolved to), filters, and at
// most MAX_ROWS rows with the older ones dropped and counted.
import t from 'tap';
import { RowStore, MAX_ROWS } from '../../../../dist/src/inspect/store.js';

const conn = (id, phase, extra = {}) => ({ type: 'connection', id, phase, time: new Date().toISOString(), asked: '10.0.0.5', port: 80, ...extra });

t.test('open then close is one row; the name it came from is added', async (t) => {
  const store = new RowStore();
  store.add('s1', { type: 'dns', time: '', name: 'hello.', answer: '10.0.0.5', durationMs: 3 });
  const open = store.add('s1', conn(1, 'open'));
  t.equal(open.resolved, 'from the name hello');
  const closed = store.add('s1', conn(1, 'close', { bytesIn: 5, bytesOut: 7, end: 'closed' }));
  t.equal(closed.seq, open.seq, 'same row');
  t.equal(store.list({ type: 'connection' }).length, 1);
  t.match(store.list({ type: 'connection' })[0], { phase: 'close', bytesIn: 5, bytesOut: 7, resolved: 'from the name hello' });
  t.equal(store.add('s2', conn(1, 'open')).resolved, undefined, 'names are per session');
  store.add('s1', { type: 'dns', time: '', name: 'web', answer: '10.0.0.9', durationMs: 1 });
  t.equal(store.add('s1', conn(2, 'open', { asked: 'web' })).resolved, '10.0.0.9', 'a name: its address');
});

t.test('filters', async (t) => {
  const store = new RowStore();
  store.add('a', conn(1, 'close', { asked: 'redis', end: 'refused' }));
  store.add('b', { type: 'dns', time: '', name: 'redis', error: 'no such name', durationMs: 1 });
  t.equal(store.list({ session: 'a' }).length, 1);
  t.equal(store.list({ q: 'REDIS' }).length, 2);
  t.equal(store.list({ type: 'dns', q: 'no such' }).length, 1);
  t.equal(store.list({ q: 'nothing-like-it' }).length, 0);
});

t.test(`at most ${MAX_ROWS} rows: the older ones are dropped and counted`, async (t) => {
  const store = new RowStore();
  for (let i = 0; i < MAX_ROWS + 250; i++) store.add('s', { type: 'dns', time: '', name: `n${i}`, answer: '10.0.0.1', durationMs: 0 });
  t.equal(store.size, MAX_ROWS);
  t.equal(store.dropped, 250);
  t.equal(store.list()[0].name, 'n250', 'the oldest left is the 251st');
});

t.test("a teleport table or an env is a snapshot: a session's new one replaces its last", async (t) => {
  const store = new RowStore();
  const table = (open) => ({ type: 'teleport', time: '', table: [{ address: '127.1.0.1', port: 80, names: ['hello'], to: '10.0.0.1:80', open, total: open }] });
  const first = store.add('s1', table(0));
  const second = store.add('s1', table(2));
  t.equal(second.seq, first.seq, 'same row');
  t.equal(store.list({ type: 'teleport' }).length, 1);
  t.equal(store.list({ type: 'teleport' })[0].table[0].open, 2, 'the new counts');
  t.not(store.add('s2', table(1)).seq, first.seq, 'per session');
  store.add('s1', { type: 'env', time: '', source: 'x', vars: { A: '1' } });
  store.add('s1', { type: 'env', time: '', source: 'x', vars: { A: '2' } });
  t.same(
    store.list({ type: 'env' }).map((r) => r.vars.A),
    ['2'],
  );
});

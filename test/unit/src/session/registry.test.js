// The local session registry (src/session/registry.ts): a record per session under the runtime
// base, written atomically, updated with the tunnel's history, removed at the end; records of
// processes that are gone are dead and removed by removeDeadSessions.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listLocalSessions, registerSession, removeDeadSessions, sessionsDir } from '../../../../dist/src/session/registry.js';

function privateEnv(t) {
  const dir = mkdtempSync(join(tmpdir(), 'kinject-registry-'));
  t.teardown(() => spawnSync('rm', ['-rf', dir]));
  return { XDG_RUNTIME_DIR: dir };
}

t.test('a registered session is listed as alive, updated, and gone after remove()', async (t) => {
  const env = privateEnv(t);
  const s = registerSession({ id: 'abc123', kind: 'run', namespaces: ['ns1'], context: 'kinject', command: ['npm', 'start'] }, env);
  t.equal(statSync(sessionsDir(env)).mode & 0o777, 0o700, 'the directory is private');
  let list = listLocalSessions(env);
  t.equal(list.length, 1);
  t.equal(list[0].alive, true);
  t.equal(list[0].record.pid, process.pid);
  t.same(list[0].record.command, ['npm', 'start']);
  t.equal(list[0].record.tunnel, 'starting');
  t.equal(statSync(list[0].file).mode & 0o777, 0o600, 'the record is private');
  s.setTunnel('up');
  s.setTunnel('up'); // no change, no entry
  s.setTunnel('lost', 'port-forward closed');
  s.setTunnel('up');
  list = listLocalSessions(env);
  t.same(
    list[0].record.tunnelHistory.map((h) => h.state),
    ['starting', 'up', 'lost', 'up'],
  );
  t.equal(list[0].record.tunnelHistory[2].reason, 'port-forward closed');
  s.update({ proxyPod: 'ns1/kinject-abc123-x' });
  t.equal(listLocalSessions(env)[0].record.proxyPod, 'ns1/kinject-abc123-x');
  t.same(readdirSync(sessionsDir(env)), ['abc123.json'], 'no temporary file stays');
  s.remove();
  t.same(listLocalSessions(env), []);
  s.setTunnel('lost'); // after remove(): nothing is written again
  t.same(listLocalSessions(env), []);
});

t.test('a record whose process is gone is dead, and removeDeadSessions removes only those', async (t) => {
  const env = privateEnv(t);
  const live = registerSession({ id: 'live1', kind: 'teleport', namespaces: ['a'] }, env);
  t.teardown(() => live.remove());
  const gone = spawnSync('true').pid; // a pid that has exited
  const deadRecord = { id: 'dead1', kind: 'run', pid: gone, startedAt: new Date(0).toISOString(), namespaces: [], tunnel: 'up', tunnelHistory: [] };
  writeFileSync(join(sessionsDir(env), 'dead1.json'), JSON.stringify(deadRecord));
  writeFileSync(join(sessionsDir(env), 'garbage.json'), '{not json');
  const list = listLocalSessions(env);
  t.same(
    list.map((s) => [s.record.id, s.alive]),
    [
      ['dead1', false],
      ['live1', true],
    ],
    'oldest first; the unreadable file is skipped',
  );
  t.same(
    removeDeadSessions(env).map((r) => r.id),
    ['dead1'],
  );
  t.same(
    listLocalSessions(env).map((s) => s.record.id),
    ['live1'],
  );
});

t.test('a bad id is refused before anything is written', async (t) => {
  const env = privateEnv(t);
  t.throws(() => registerSession({ id: '../x', kind: 'run', namespaces: [] }, env), /bad session id/);
  t.same(listLocalSessions(env), []);
});

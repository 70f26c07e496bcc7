// The Service patches of an intercept (protocol/intercept/service-patch.ts), applied with
// fast-json-patch-like semantics by a tiny RFC 6902 applier below: join switches the selector once
// and records the original, a second member only joins the list, the last leaver restores the
// object exactly, a foreign change is detected and only kinject's parts are removed from it, and
// conflicts name the holder.
import t from 'tap';
import {
  foreignChange,
  foreignWriteSince,
  joinConflict,
  joinPatch,
  lastForeignWriter,
  lastWriteBy,
  leavePatch,
} from '../../../dist/protocol/intercept/service-patch.js';

/** RFC 6902 test/add/replace/remove on plain objects; a failed test throws */
function apply(doc, ops) {
  const out = structuredClone(doc);
  const walk = (path) => {
    const keys = path
      .split('/')
      .slice(1)
      .map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~'));
    const last = keys.pop();
    let o = out;
    for (const k of keys) o = o[k];
    return [o, last];
  };
  for (const op of ops) {
    const [parent, key] = walk(op.path);
    if (op.op === 'test') {
      if (JSON.stringify(parent?.[key]) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
    } else if (op.op === 'add' || op.op === 'replace') {
      if (op.op === 'replace' && !(key in parent)) throw new Error(`replace of a missing ${op.path}`);
      parent[key] = structuredClone(op.value);
    } else if (op.op === 'remove') {
      if (!(key in parent)) throw new Error(`remove of a missing ${op.path}`);
      delete parent[key];
    }
  }
  return out;
}

const svc = (annotations) => ({ metadata: { name: 'api', ...(annotations ? { annotations } : {}) }, spec: { selector: { app: 'api' } } });
const alice = { session: 'aaaa1111', user: 'alice@x', headers: [{ name: 'x-dev', value: 'alice' }] };
const bob = { session: 'bbbb2222', user: 'bob@y', headers: [{ name: 'x-dev', value: 'bob' }] };
const global = { session: 'gggg3333', user: 'gail@z', headers: [] };

for (const annotations of [undefined, { 'example.com/owner': 'team' }]) {
  t.test(`join, second member, leave in any order restores exactly (annotations ${annotations ? 'present' : 'absent'})`, async (t) => {
    const before = svc(annotations);
    const one = apply(before, joinPatch(before, alice, 'api'));
    t.same(one.spec.selector, { 'kinject.dev/router-for': 'api' }, 'the selector is switched');
    t.equal(JSON.parse(one.metadata.annotations['kinject.dev/original-selector']).app, 'api', 'the original is kept');
    const two = apply(one, joinPatch(one, bob, 'api'));
    t.same(two.spec.selector, one.spec.selector, 'a second member does not touch the selector');
    t.equal(JSON.parse(two.metadata.annotations['kinject.dev/intercepted-by']).length, 2);
    const aliceLeft = apply(two, leavePatch(two, alice.session, 'api'));
    t.same(aliceLeft.spec.selector, one.spec.selector, 'still switched while bob is there');
    t.equal(foreignChange(aliceLeft, bob.session, 'api'), undefined, 'not a foreign change for bob');
    const restored = apply(aliceLeft, leavePatch(aliceLeft, bob.session, 'api'));
    t.same(restored, before, 'the last leaver restores the object exactly');
    t.equal(leavePatch(restored, bob.session, 'api'), undefined, 'nothing left to do');
  });
}

t.test('a stale read fails the test op instead of overwriting', async (t) => {
  const one = apply(svc(), joinPatch(svc(), alice, 'api'));
  const stale = joinPatch(one, bob, 'api');
  const moved = apply(one, leavePatch(one, alice.session, 'api')); // alice left meanwhile
  t.throws(() => apply(moved, stale), /test failed/);
});

t.test('a kubectl apply revert (selector merged back) is foreign: only our key and annotations go', async (t) => {
  const one = apply(svc({ keep: 'me' }), joinPatch(svc({ keep: 'me' }), alice, 'api'));
  const reverted = structuredClone(one);
  reverted.spec.selector = { 'kinject.dev/router-for': 'api', app: 'api' };
  t.match(foreignChange(reverted, alice.session, 'api'), /spec\.selector is now/);
  const cleaned = apply(reverted, leavePatch(reverted, alice.session, 'api', true));
  t.same(cleaned, svc({ keep: 'me' }), 'their selector stays, kinject leaves nothing');
  const replaced = structuredClone(one);
  replaced.spec.selector = { app: 'other' };
  const kept = apply(replaced, leavePatch(replaced, alice.session, 'api', true));
  t.same(kept.spec.selector, { app: 'other' }, 'a selector someone else wrote is never written');
});

t.test('conflicts name the holder', async (t) => {
  const withAlice = apply(svc(), joinPatch(svc(), alice, 'api'));
  t.match(joinConflict(withAlice, global, 'api'), /already has personal intercepts \(alice@x \(session aaaa1111, x-dev=alice\)\)/);
  t.equal(joinConflict(withAlice, bob, 'api'), undefined, 'personal beside personal is fine');
  const withGlobal = apply(svc(), joinPatch(svc(), global, 'api'));
  t.match(joinConflict(withGlobal, bob, 'api'), /already intercepted globally by gail@z \(session gggg3333, global\)/);
});

t.test('the latest writer that is not kinject', async (t) => {
  const fields = [
    { manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-01-01T10:00:00Z' },
    { manager: 'kinject', operation: 'Update', time: '2026-01-01T10:05:00Z' },
    { manager: 'argocd-controller', operation: 'Apply', time: '2026-01-01T10:06:00Z' },
  ];
  t.same(lastForeignWriter(fields, ['kinject', 'kinject-restorer']), { by: 'argocd-controller (Apply)', at: '2026-01-01T10:06:00Z' });
});

t.test('writes by others since kinject switched the Service (a runner coming back does not switch it over them)', async (t) => {
  const fields = [
    { manager: 'kubectl-client-side-apply', operation: 'Update', time: '2026-01-01T10:00:00Z' },
    { manager: 'kinject', operation: 'Update', time: '2026-01-01T10:05:00Z' },
    { manager: 'kinject-restorer', operation: 'Update', time: '2026-01-01T10:07:00Z' },
    { manager: 'cloud-controller', operation: 'Update', subresource: 'status', time: '2026-01-01T10:08:00Z' },
  ];
  const ours = ['kinject', 'kinject-restorer'];
  const since = lastWriteBy(fields, 'kinject');
  t.equal(since, '2026-01-01T10:05:00Z', 'when kinject last wrote it');
  t.equal(foreignWriteSince(fields, ours, since), undefined, 'only kinject and a status writer since');
  const later = [...fields, { manager: 'argocd-controller', operation: 'Apply', time: '2026-01-01T10:09:00Z' }];
  t.same(foreignWriteSince(later, ours, since), { by: 'argocd-controller (Apply)', at: '2026-01-01T10:09:00Z' });
  t.equal(lastWriteBy(fields, 'nobody'), undefined);
});

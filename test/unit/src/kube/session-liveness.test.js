// The liveness rule (kube/session-liveness.ts) every cluster-side cleanup follows: live while the
// runner renews its Lease within the grace it states; without a Lease, live while the Job has an
// active pod or is being started. Plus the Lease object kinject creates and reads back.
import t from 'tap';
import { sessionLiveness, describeSession, parseHolder } from '../../../../dist/src/kube/session-liveness.js';
import { buildSessionLease, leaseFacts, microTime, graceSeconds, ANNOTATION_CLOSED_BY } from '../../../../dist/src/kube/session-lease.js';
import { jobFacts } from '../../../../dist/src/kube/session-inventory.js';

const now = new Date('2026-01-01T12:00:00.000Z');
const ago = (s) => new Date(now.getTime() - s * 1000);
const job = (o = {}) => ({ active: 1, finished: false, createdAt: ago(600), user: 'ann@box', ...o });

t.test('with a Lease: live within the grace it states, not after', async (t) => {
  const lease = (s, d = 30) => ({ holder: 'ann@box pid 42', renewTime: ago(s), durationSeconds: d });
  t.match(sessionLiveness({ job: job(), lease: lease(2) }, now), { live: true, user: 'ann@box', pid: 42, renewedAgo: 2, why: 'renewed 2 s ago' });
  t.equal(sessionLiveness({ job: job(), lease: lease(30) }, now).live, true, 'at the grace itself');
  t.match(sessionLiveness({ job: job(), lease: lease(31) }, now), { live: false, why: 'not renewed for 31 s (grace 30 s)' });
  t.equal(sessionLiveness({ job: job(), lease: lease(5, 4) }, now).live, false, 'a short grace from the Lease');
  t.equal(sessionLiveness({ job: job(), lease: lease(-20) }, now).live, true, 'renewed "in the future" (clock skew) is fresh');
  t.equal(
    sessionLiveness({ job: job({ active: 0, finished: true }), lease: lease(1) }, now).live,
    true,
    'a fresh Lease wins over a finished Job (the runner lives)',
  );
  t.equal(sessionLiveness({ lease: lease(1) }, now).live, true, 'a fresh Lease without its Job (being deleted) is not touched');
  t.equal(sessionLiveness({ job: job(), lease: lease(1, undefined) }, now, 30).live, true, 'no duration: the default grace');
  t.equal(sessionLiveness({ job: job(), lease: { holder: 'x pid 1' } }, now).live, false, 'never renewed');
});

t.test('a Lease marked closed is not live', async (t) => {
  const l = sessionLiveness({ job: job(), lease: { holder: 'ann@box pid 42', renewTime: ago(1), durationSeconds: 30, closedBy: 'bob@ci pid 7' } }, now);
  t.match(l, { live: false, why: 'being closed by bob@ci pid 7' });
});

t.test('without a Lease: by the Job', async (t) => {
  t.match(sessionLiveness({ job: job() }, now), { live: true, why: 'no Lease, its pod is active', user: 'ann@box' });
  t.match(sessionLiveness({ job: job(), leasesVisible: false }, now), { live: true, why: 'Leases not readable, its pod is active' });
  t.match(sessionLiveness({ job: job({ active: 0, createdAt: ago(5) }) }, now), { live: true, why: 'no Lease, being started' });
  t.match(sessionLiveness({ job: job({ active: 0, createdAt: ago(31) }) }, now), { live: false, why: 'no Lease and no active pod' });
  t.match(sessionLiveness({ job: job({ active: 1, finished: true }) }, now), { live: false, why: 'its Job has finished' });
  t.match(sessionLiveness({}, now), { live: false, why: 'no Job and no Lease' });
});

t.test('holder and description', async (t) => {
  t.same(parseHolder('ann@box pid 42'), { user: 'ann@box', pid: 42 });
  t.same(parseHolder('someone else'), { user: 'someone else' });
  t.same(parseHolder(undefined), {});
  const l = sessionLiveness({ job: job(), lease: { holder: 'ann@box pid 42', renewTime: ago(2), durationSeconds: 30 } }, now);
  t.equal(describeSession('team', 'kinject-ab12cd34', l), 'team/kinject-ab12cd34 of ann@box, pid 42, renewed 2 s ago');
});

t.test('the Lease kinject creates, read back', async (t) => {
  const lease = buildSessionLease({
    id: 'ab12cd34',
    namespace: 'team',
    holder: 'ann@box pid 42',
    graceSeconds: 30,
    job: { name: 'kinject-ab12cd34', uid: 'u-1' },
    now,
  });
  t.equal(lease.metadata.name, 'kinject-ab12cd34');
  t.same(lease.metadata.labels, { 'app.kubernetes.io/managed-by': 'kinject', 'kinject.dev/session': 'ab12cd34', 'app.kubernetes.io/name': 'kinject-proxy' });
  t.match(lease.metadata.ownerReferences, [{ kind: 'Job', name: 'kinject-ab12cd34', uid: 'u-1', blockOwnerDeletion: false }]);
  t.equal(lease.spec.renewTime, '2026-01-01T12:00:00.000000Z', 'a MicroTime with 6 digits');
  t.equal(microTime(new Date('2026-01-01T12:00:00.123Z')), '2026-01-01T12:00:00.123000Z');
  t.same(leaseFacts(lease), { holder: 'ann@box pid 42', renewTime: now, durationSeconds: 30 });
  lease.metadata.annotations = { [ANNOTATION_CLOSED_BY]: 'bob@ci pid 7' };
  t.equal(leaseFacts(lease).closedBy, 'bob@ci pid 7');
});

t.test('the grace from the environment', async (t) => {
  t.equal(graceSeconds({}), 30);
  t.equal(graceSeconds({ KINJECT_SESSION_GRACE_SECONDS: '6' }), 6);
  for (const bad of ['1', '0', 'x', '2.5', '99999']) {
    t.throws(() => graceSeconds({ KINJECT_SESSION_GRACE_SECONDS: bad }), /KINJECT_SESSION_GRACE_SECONDS=.* must be a whole number of seconds from 2 to 3600/);
  }
});

t.test('Job facts', async (t) => {
  const f = jobFacts({ metadata: { creationTimestamp: '2026-01-01T11:59:00Z', annotations: { 'kinject.dev/user': 'ann@box' } }, status: { active: 1 } });
  t.same(f, { active: 1, finished: false, createdAt: new Date('2026-01-01T11:59:00Z'), user: 'ann@box' });
  t.equal(jobFacts({ status: { conditions: [{ type: 'Complete', status: 'True' }] } }).finished, true);
  t.equal(jobFacts({ status: { conditions: [{ type: 'Failed', status: 'False' }] } }).finished, false);
  t.equal(jobFacts({}).active, 0);
});

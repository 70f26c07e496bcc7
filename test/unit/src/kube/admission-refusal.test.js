// admissionRefusal(): the API server's refusals of the proxy pod (quota, LimitRange, Pod Security)
// as one line naming what refused it and what to do; anything else is left to the caller.
import t from 'tap';
import { admissionRefusal } from '../../../../dist/src/kube/admission-refusal.js';

t.test('a quota with no room: names the quota, keeps the figures, says what the pod needs', async (t) => {
  const line = admissionRefusal(
    'Error creating: pods "kinject-ab-x" is forbidden: exceeded quota: tight, requested: limits.memory=128Mi, used: limits.memory=0, limited: limits.memory=64Mi',
  );
  t.equal(
    line,
    'ResourceQuota "tight" has no room for the proxy pod (requested: limits.memory=128Mi, used: limits.memory=0, limited: limits.memory=64Mi); it needs requests 10m CPU/32Mi, limits 1 CPU/128Mi: end other pods or ask for a larger quota',
  );
});

t.test('a quota demanding limits an init container lacks', async (t) => {
  t.match(
    admissionRefusal('pods "kinject-ab-x" is forbidden: failed quota: q: must specify limits.cpu for: seed; limits.memory for: seed'),
    /^ResourceQuota "q" refuses the proxy pod: must specify limits\.cpu for: seed; limits\.memory for: seed \(.*\): set them in the workload's pod template$/,
  );
});

t.test('Pod Security: the level, the fields, what to do', async (t) => {
  const line = admissionRefusal(
    'Error creating: pods "kinject-ab-x" is forbidden: violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "seed" must set securityContext.allowPrivilegeEscalation=false)',
  );
  t.match(
    line,
    /^the namespace's Pod Security level "restricted:latest" refuses the proxy pod: allowPrivilegeEscalation != false \(container "seed" must set securityContext\.allowPrivilegeEscalation=false\); .*set them there/,
  );
  t.notMatch(line, /\n/);
});

t.test('a LimitRange', async (t) => {
  t.match(
    admissionRefusal('pods "x" is forbidden: maximum memory usage per Container is 64Mi, but limit is 128Mi'),
    /^a LimitRange in the namespace refuses the proxy pod: maximum memory usage per Container is 64Mi, but limit is 128Mi \(it needs /,
  );
});

t.test('anything else: undefined', async (t) => {
  t.equal(admissionRefusal('pods "x" is forbidden: User "u" cannot create resource "pods"'), undefined);
  t.equal(admissionRefusal(''), undefined);
});

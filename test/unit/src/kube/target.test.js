// --target parsing and container choice (pure).
import t from 'tap';
import { parseTarget, pickContainer, formatTarget } from '../../../../dist/src/kube/target.js';

t.test('kinds and aliases', async (t) => {
  const cases = {
    'deployment/api': ['deployment', 'api'],
    'deploy/api': ['deployment', 'api'],
    'deployments/api': ['deployment', 'api'],
    'Deployment/api': ['deployment', 'api'],
    'deployment.apps/api': ['deployment', 'api'],
    'statefulset/db': ['statefulset', 'db'],
    'sts/db': ['statefulset', 'db'],
    'replicaset/web-5d9f': ['replicaset', 'web-5d9f'],
    'rs/web-5d9f': ['replicaset', 'web-5d9f'],
    'pod/web-5d9f-abcde': ['pod', 'web-5d9f-abcde'],
    'po/x': ['pod', 'x'],
    api: ['deployment', 'api'],
    ' web ': ['deployment', 'web'],
  };
  for (const [text, [kind, name]] of Object.entries(cases)) {
    t.same(parseTarget(text), { kind, name }, text);
  }
  t.equal(formatTarget({ kind: 'statefulset', name: 'db' }), 'statefulset/db');
});

t.test('bad targets are usage errors', async (t) => {
  for (const bad of ['job/x', 'service/web', 'deployment/', 'deployment/Web', 'deployment/a_b', '/x', 'deployment/-x', '']) {
    let err;
    try {
      parseTarget(bad);
    } catch (e) {
      err = e;
    }
    t.ok(err, `${JSON.stringify(bad)} rejected`);
    t.equal(err?.name, 'KinjectError');
    t.equal(err?.exitCode, 2);
    t.notMatch(err?.message ?? '', /\n/, 'one line');
  }
  t.throws(() => parseTarget('job/x'), /unknown workload kind "job".*deployment\/NAME/);
});

t.test('pickContainer', async (t) => {
  const spec = {
    initContainers: [{ name: 'seed', image: 'x' }],
    containers: [
      { name: 'web', image: 'a' },
      { name: 'log', image: 'b' },
    ],
  };
  t.equal(pickContainer(spec, 'deployment/web').name, 'web', 'first by default');
  t.equal(pickContainer(spec, 'deployment/web', 'log').name, 'log');
  t.throws(() => pickContainer(spec, 'deployment/web', 'nope'), {
    message: 'container "nope" not found in deployment/web; available containers: web, log; check --container',
  });
  t.throws(() => pickContainer(spec, 'deployment/web', 'seed'), /"seed" is an init container/);
});

// Kubernetes API failures as one-line KinjectErrors (pure): forbidden names the verb and the
// resource and points at the Role file, a missing namespace says so, 401 and network errors.
import t from 'tap';
import { apiError, isNamespaceNotFound } from '../../../../dist/src/kube/errors.js';
import { KubeApiError } from '../../../../dist/src/kube/client.js';

t.test('apiError', async (t) => {
  const forbidden = new KubeApiError(
    'POST',
    '/apis/batch/v1/namespaces/prod/jobs',
    403,
    'Forbidden',
    'jobs.batch is forbidden: User "alice" cannot create resource "jobs" in API group "batch" in the namespace "prod"',
  );
  const e = apiError(forbidden, { verb: 'create', resource: 'jobs.batch', namespace: 'prod' });
  t.equal(e.name, 'KinjectError');
  t.equal(
    e.message,
    'forbidden: cannot create jobs.batch in namespace "prod" (jobs.batch is forbidden: User "alice" cannot create resource "jobs" in API group "batch" in the namespace "prod"); grant the permissions in rbac/kinject-role.yaml',
  );
  t.equal(e.cause, forbidden);

  const nsMissing = new KubeApiError('POST', '/apis/batch/v1/namespaces/nope/jobs', 404, 'NotFound', 'namespaces "nope" not found', {
    name: 'nope',
    kind: 'namespaces',
  });
  t.ok(isNamespaceNotFound(nsMissing, 'nope'));
  t.equal(
    apiError(nsMissing, { verb: 'create', resource: 'jobs.batch', namespace: 'nope' }).message,
    'namespace "nope" not found; check -n/--namespace (or the context\'s namespace)',
  );

  const other404 = new KubeApiError('GET', '/x', 404, 'NotFound', 'jobs.batch "kinject-x" not found', { name: 'kinject-x', kind: 'jobs' });
  t.notOk(isNamespaceNotFound(other404, 'prod'));
  t.equal(
    apiError(other404, { verb: 'get', resource: 'jobs.batch', namespace: 'prod', name: 'kinject-x' }).message,
    'get jobs.batch "kinject-x" in namespace "prod" failed: jobs.batch "kinject-x" not found',
  );

  t.match(
    apiError(new KubeApiError('GET', '/x', 401, 'Unauthorized', 'Unauthorized'), { verb: 'get', resource: 'pods' }).message,
    /rejected the credentials \(401 Unauthorized\)/,
  );
  t.match(
    apiError(new KubeApiError('GET', '/x', 0, 'ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:6443'), { verb: 'list', resource: 'pods', namespace: 'a' })
      .message,
    /^cannot reach the Kubernetes API server \(list pods in namespace "a"\): connect ECONNREFUSED 10\.0\.0\.1:6443; check --context\/--kubeconfig$/,
  );
  const long = apiError(new KubeApiError('GET', '/x', 500, 'InternalError', 'x'.repeat(500) + '\nsecond line'), { verb: 'get', resource: 'pods' }).message;
  t.notMatch(long, /\n/);
  t.ok(long.length < 400);
  const passthrough = apiError(new Error('boom'), { verb: 'delete', resource: 'secrets', namespace: 'a', name: 's' });
  t.equal(passthrough.message, 'delete secrets "s" in namespace "a" failed: boom');
});

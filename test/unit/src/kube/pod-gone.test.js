// Whether the proxy pod is gone for good, and why, from the pod object: the reason ends the line
// "the proxy pod NS/POD is gone (WHY)"; an OOM kill names the memory limit.
import t from 'tap';
import { podGoneReason } from '../../../../dist/src/kube/pod-gone.js';

const spec = { containers: [{ name: 'proxy', resources: { limits: { cpu: '1', memory: '128Mi' } } }] };
const pod = (status, metadata = {}) => ({ metadata: { name: 'kinject-ab-x', ...metadata }, spec, status });
const terminated = (reason, exitCode = 137) => ({ name: 'proxy', state: { terminated: { reason, exitCode } } });

t.test('a pod that may still serve is not gone', async (t) => {
  t.equal(podGoneReason(pod({ phase: 'Running', containerStatuses: [{ name: 'proxy', state: { running: {} } }] })), undefined);
  t.equal(podGoneReason(pod({ phase: 'Pending' })), undefined);
  t.equal(podGoneReason(pod(undefined)), undefined);
});

t.test('deleted, exited, failed', async (t) => {
  t.equal(podGoneReason(pod({ phase: 'Running' }, { deletionTimestamp: new Date() })), 'being deleted');
  t.equal(podGoneReason(pod({ phase: 'Succeeded' })), 'exited');
  t.equal(podGoneReason(pod({ phase: 'Failed', containerStatuses: [terminated('Error', 1)] })), 'failed');
  t.equal(podGoneReason(pod({ phase: 'Failed', reason: 'Evicted' })), 'failed: Evicted');
});

t.test('OOM-killed: named with the limit, whatever else the pod shows', async (t) => {
  const oom = 'OOM-killed, over its 128Mi memory limit';
  t.equal(podGoneReason(pod({ phase: 'Failed', containerStatuses: [terminated('OOMKilled')] })), oom);
  // the kubelet's status can say it before the phase (restartPolicy Never: it never restarts)
  t.equal(podGoneReason(pod({ phase: 'Running', containerStatuses: [terminated('OOMKilled')] })), oom);
  // the Job failed and its end is deleting the pod: still the OOM kill
  t.equal(podGoneReason(pod({ phase: 'Failed', containerStatuses: [terminated('OOMKilled')] }, { deletionTimestamp: new Date() })), oom);
  // a container without a limit
  const noLimit = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'proxy' }] },
    status: { phase: 'Failed', containerStatuses: [terminated('OOMKilled')] },
  };
  t.equal(podGoneReason(noLimit), 'OOM-killed, over its memory limit');
  // an earlier OOM kill (lastState) of a container running again is not a loss
  const restarted = { name: 'proxy', state: { running: {} }, lastState: { terminated: { reason: 'OOMKilled', exitCode: 137 } } };
  t.equal(podGoneReason(pod({ phase: 'Running', containerStatuses: [restarted] })), undefined);
});

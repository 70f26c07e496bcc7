// Reading the proxy pod's status and events: running / starting / stalled / failed, with the
// cluster's own reason in one line.
import t from 'tap';
import { podState, eventState } from '../../../../dist/src/kube/pod-status.js';

const pod = (status, spec = { containers: [{ name: 'proxy', image: 'node:22-alpine' }] }) => ({ metadata: { name: 'kinject-ab-x' }, spec, status });
const waiting = (reason, message, name = 'proxy') => ({ name, image: 'node:22-alpine', state: { waiting: { reason, message } } });

t.test('running and starting', async (t) => {
  t.same(podState(pod({ phase: 'Running', containerStatuses: [{ name: 'proxy', state: { running: {} } }] })), { kind: 'running' });
  t.same(podState(pod({ phase: 'Pending' })), { kind: 'starting', progress: 'waiting for the scheduler' });
  t.same(podState(pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], containerStatuses: [waiting('ContainerCreating')] })), {
    kind: 'starting',
    progress: 'starting container',
  });
  t.same(
    podState(
      pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }], initContainerStatuses: [{ name: 'seed', state: { running: {} } }] }),
    ),
    { kind: 'starting', progress: 'running init container seed' },
  );
  t.same(
    podState(
      pod({
        phase: 'Running',
        containerStatuses: [
          { name: 'other', state: { waiting: {} } },
          { name: 'web', state: { running: {} } },
        ],
      }),
      'web',
    ),
    { kind: 'running' },
  );
});

t.test('stalls that may resolve', async (t) => {
  let s = podState(pod({ phase: 'Pending', containerStatuses: [waiting('ImagePullBackOff', 'Back-off pulling image "127.0.0.1:1/nope:1"')] }));
  t.equal(s.kind, 'stalled');
  t.match(s.reason, /ImagePullBackOff: image "node:22-alpine" cannot be pulled: Back-off pulling image/);
  s = podState(pod({ phase: 'Pending', containerStatuses: [waiting('ErrImagePull', 'failed to pull\nsecond line')] }));
  t.equal(s.kind, 'stalled');
  t.notMatch(s.reason, /\n/, 'one line');
  s = podState(pod({ phase: 'Pending', containerStatuses: [waiting('CreateContainerConfigError', 'configmap "web-config" not found')] }));
  t.same(s, { kind: 'stalled', reason: 'container "proxy": CreateContainerConfigError: configmap "web-config" not found' });
  s = podState(
    pod({
      phase: 'Pending',
      conditions: [
        {
          type: 'PodScheduled',
          status: 'False',
          reason: 'Unschedulable',
          message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
        },
      ],
    }),
  );
  t.same(s, { kind: 'stalled', reason: "Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector." });
});

t.test('failures that cannot resolve', async (t) => {
  let s = podState(
    pod({ phase: 'Pending', containerStatuses: [waiting('ErrImageNeverPull', 'Container image "x:1" is not present with pull policy of Never')] }),
  );
  t.equal(s.kind, 'failed');
  t.match(s.reason, /ErrImageNeverPull for image "node:22-alpine"/);
  s = podState(pod({ phase: 'Pending', containerStatuses: [waiting('InvalidImageName', 'bad')] }));
  t.equal(s.kind, 'failed');
  s = podState(pod({ phase: 'Failed', initContainerStatuses: [{ name: 'seed', state: { terminated: { exitCode: 3, reason: 'Error', message: 'boom' } } }] }));
  t.same(s, { kind: 'failed', reason: 'init container "seed" exited with code 3 (Error): boom' });
  s = podState(pod({ phase: 'Pending', initContainerStatuses: [{ name: 'seed', state: { terminated: { exitCode: 1 } } }] }));
  t.same(s, { kind: 'failed', reason: 'init container "seed" exited with code 1' });
  s = podState(pod({ phase: 'Failed', containerStatuses: [{ name: 'proxy', state: { terminated: { exitCode: 1, reason: 'Error' } } }] }));
  t.same(s, { kind: 'failed', reason: 'container "proxy" exited with code 1 (Error)' });
  s = podState(pod({ phase: 'Failed', reason: 'DeadlineExceeded', message: 'Pod was active too long' }));
  t.same(s, { kind: 'failed', reason: 'the proxy pod failed: DeadlineExceeded: Pod was active too long' });
  s = podState({ ...pod({ phase: 'Running' }), metadata: { deletionTimestamp: '2026-01-01T00:00:00Z' } });
  t.equal(s.kind, 'failed');
});

t.test('other warnings become the stall reason', async (t) => {
  t.same(
    eventState([
      { type: 'Warning', reason: 'FailedCreatePodSandBox', message: 'Failed to create pod sandbox: rpc error' },
      { type: 'Normal', reason: 'Whatever', message: 'x' },
    ]),
    { kind: 'stalled', reason: 'FailedCreatePodSandBox: Failed to create pod sandbox: rpc error' },
  );
});

t.test('events', async (t) => {
  const ev = (reason, message, sec) => ({ reason, message, lastTimestamp: new Date(Date.UTC(2026, 0, 1, 0, 0, sec)).toISOString() });
  t.equal(eventState([]), undefined);
  t.same(
    eventState([ev('FailedCreate', 'Error creating: pods "kinject-x-" is forbidden: exceeded quota: q, requested: pods=1, used: pods=1, limited: pods=1', 1)]),
    {
      kind: 'failed',
      reason:
        'ResourceQuota "q" has no room for the proxy pod (requested: pods=1, used: pods=1, limited: pods=1); it needs requests 10m CPU/32Mi, limits 1 CPU/128Mi: end other pods or ask for a larger quota',
    },
  );
  t.same(
    eventState([ev('FailedCreate', 'Error creating: pods "kinject-x-" is forbidden: some webhook said no', 1)]),
    { kind: 'failed', reason: 'cannot create the proxy pod: pods "kinject-x-" is forbidden: some webhook said no' },
    "other refusals: the API server's words",
  );
  t.same(eventState([ev('Scheduled', 'ok', 1), ev('Pulling', 'Pulling image "node:22-alpine"', 2)]), {
    kind: 'starting',
    progress: 'pulling image "node:22-alpine"',
  });
  t.equal(eventState([ev('Pulled', 'done', 3), ev('Pulling', 'Pulling image "node:22-alpine"', 2)]), undefined, 'sorted by time: pulled after pulling');
  t.same(eventState([ev('FailedMount', 'MountVolume.SetUp failed for volume "cfg" : configmap "nope" not found', 1)]), {
    kind: 'stalled',
    reason: 'FailedMount: MountVolume.SetUp failed for volume "cfg" : configmap "nope" not found',
  });
});

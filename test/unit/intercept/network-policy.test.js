// The NetworkPolicy check of an intercept (src/intercept/network-policy.ts), on small fake policy
// objects: no policy, or policies that let clients, colleagues' routers, the pass-through and the
// API server through, pass; each kind of block is one line naming the policy and what to allow.
import t from 'tap';
import { networkPolicyProblem, selectorMatches } from '../../../dist/src/intercept/network-policy.js';

const ROUTER = { 'app.kubernetes.io/managed-by': 'kinject', 'kinject.dev/session': 'new', 'kinject.dev/router-for': 'api' };
const base = (policies) => ({
  namespace: 'shop',
  policies,
  targetDisplay: 'deployment/api',
  service: 'api',
  workloadLabels: { app: 'api' },
  routerLabels: ROUTER,
  ports: [{ number: 8080, name: 'http' }],
  apiServer: { host: '10.0.0.1', port: 6443 },
});
const policy = (name, spec) => ({ metadata: { name }, spec });
const denyAll = policy('default-deny', { podSelector: {}, policyTypes: ['Ingress'] });
const denyEgress = policy('deny-egress', { podSelector: {}, policyTypes: ['Egress'] });
const fromIngress = { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } };
const allowApi = policy('allow-api', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [fromIngress], ports: [{ port: 'http' }] }] });
const routerSel = { matchLabels: { 'kinject.dev/router-for': 'api' } };

t.test('label selectors', async (t) => {
  t.ok(selectorMatches({}, { a: '1' }), 'empty selects all');
  t.ok(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'In', values: ['1', '2'] }] }, { a: '1' }));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'a', operator: 'NotIn', values: ['1'] }] }, { a: '1' }));
  t.ok(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'DoesNotExist' }] }, { a: '1' }));
  t.notOk(selectorMatches({ matchExpressions: [{ key: 'b', operator: 'Exists' }] }, { a: '1' }));
});

t.test('no policies, or policies that do not touch the routers and admit them: no problem', async (t) => {
  t.equal(networkPolicyProblem(base([])), undefined);
  // only the workload is isolated, and it admits everything on its port
  t.equal(
    networkPolicyProblem(base([policy('open-api', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ ports: [{ port: 8080 }] }] })])),
    undefined,
  );
  // a complete setup: default deny, clients to api and routers, routers to api, routers among themselves, API server
  const ok = [
    denyAll,
    denyEgress,
    allowApi,
    policy('kinject-routers', {
      podSelector: routerSel,
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [fromIngress], ports: [{ port: 'http' }] }, { from: [{ podSelector: routerSel }] }],
      egress: [
        { to: [{ podSelector: { matchLabels: { app: 'api' } } }, { podSelector: routerSel }] },
        { to: [{ ipBlock: { cidr: '10.0.0.0/24' } }], ports: [{ port: 6443 }] },
      ],
    }),
    policy('api-from-routers', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: routerSel }], ports: [{ port: 8080 }] }] }),
  ];
  t.equal(networkPolicyProblem(base(ok)), undefined);
});

t.test('each block: one line naming the policy and what to allow', async (t) => {
  t.match(
    networkPolicyProblem(base([denyAll, allowApi])),
    /^NetworkPolicy allow-api lets clients reach the pods of deployment\/api on port 8080 \(http\) but default-deny would block them from kinject's router pods \(label kinject\.dev\/router-for=api\): allow the same ingress to pods labelled kinject\.dev\/router-for=api on port 8080 \(http\)/,
    'clients blocked from the routers',
  );
  t.match(
    networkPolicyProblem(base([policy('deny-routers', { podSelector: routerSel, policyTypes: ['Ingress'] })])),
    /^NetworkPolicy deny-routers would block the Service's clients from kinject's router pods .* which the pods of deployment\/api accept from anyone/,
    'routers isolated, workload open',
  );
  const routersLikeApi = policy('routers', { podSelector: routerSel, ingress: [{ from: [fromIngress], ports: [{ port: 'http' }] }] });
  t.match(
    networkPolicyProblem(base([denyAll, allowApi, routersLikeApi])),
    /^NetworkPolicy default-deny, routers would block kinject's router pods .* from each other on port 8080 \(http\) .*allow ingress and egress between pods labelled kinject\.dev\/router-for=api/,
    'routers cannot forward to each other',
  );
  const routersOk = policy('routers', { podSelector: routerSel, ingress: [{ from: [fromIngress, { podSelector: routerSel }], ports: [{ port: 'http' }] }] });
  t.match(
    networkPolicyProblem(base([denyAll, allowApi, routersOk])),
    /^NetworkPolicy default-deny, allow-api would block kinject's router pods .* from the pods of deployment\/api on port 8080 \(http\), so requests without the header would fail: allow ingress from pods labelled kinject\.dev\/router-for=api to them/,
    'pass-through blocked at the workload',
  );
  const apiFromRouters = policy('api-from-routers', { podSelector: { matchLabels: { app: 'api' } }, ingress: [{ from: [{ podSelector: routerSel }] }] });
  t.equal(networkPolicyProblem(base([denyAll, allowApi, routersOk, apiFromRouters])), undefined, 'with the pass-through admitted: fine');
  const egressToApiOnly = policy('egress-api-only', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ podSelector: routerSel }, { podSelector: { matchLabels: { app: 'api' } } }] }],
  });
  t.match(
    networkPolicyProblem(base([egressToApiOnly])),
    /^NetworkPolicy egress-api-only would block kinject's router pods .* from the API server \(10\.0\.0\.1:6443\), so they could not restore the Service after a crash/,
    'API server blocked',
  );
  const withApiServer = policy('egress-apiserver', {
    podSelector: {},
    policyTypes: ['Egress'],
    egress: [{ to: [{ ipBlock: { cidr: '10.0.0.0/8', except: ['10.1.0.0/16'] } }] }],
  });
  t.equal(networkPolicyProblem(base([egressToApiOnly, withApiServer])), undefined, 'an ipBlock holding the API server: fine');
  t.match(
    networkPolicyProblem(base([denyEgress])),
    /^NetworkPolicy deny-egress would block kinject's router pods .* from each other/,
    'a default deny of egress',
  );
  t.match(
    networkPolicyProblem(
      base([policy('no-router-egress', { podSelector: routerSel, policyTypes: ['Egress'], egress: [{ to: [{ podSelector: routerSel }] }] })]),
    ),
    /^NetworkPolicy no-router-egress would block kinject's router pods .* from reaching the pods of deployment\/api on port 8080/,
    'router egress to the workload',
  );
});

t.test('ports: other ports and protocols do not count', async (t) => {
  const udpOnly = policy('udp', { podSelector: routerSel, ingress: [{ ports: [{ protocol: 'UDP', port: 8080 }] }] });
  t.match(networkPolicyProblem(base([udpOnly])), /^NetworkPolicy udp would block/);
  const range = policy('range', { podSelector: routerSel, ingress: [{ ports: [{ port: 8000, endPort: 8100 }] }] });
  t.equal(networkPolicyProblem(base([range])), undefined, 'a port range holding the port');
});

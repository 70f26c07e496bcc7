// `kinject run` against the real local cluster, targetless: curl, node and python reach `hello` by
// short and full names, `echo` over raw TCP, a ClusterIP, a pod IP and the headless service; the
// exit status and signals pass through (a signal during the cleanup waits for it); five runs in parallel do not interfere; nothing is left.
import t from 'tap';
import { ensureCluster, kinjectLeftovers, kubectlOk } from '../helpers/cluster.js';
import { kinject, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const run = (cmd, o) => kinject(['run', '-n', NS, '--', ...cmd], { kubeconfig, ...o });
const helloBody = /^hello from hello-[a-z0-9]+-[a-z0-9]+/;

const clusterIp = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'svc', 'hello', '-o', 'jsonpath={.spec.clusterIP}'])).trim();
const podIp = (await kubectlOk(kubeconfig, ['-n', NS, 'get', 'pods', '-l', 'app=hello', '-o', 'jsonpath={.items[0].status.podIP}'])).trim();

t.test('curl, node and python reach hello by short and full names, ClusterIP, pod IP, headless', async (t) => {
  const urls = [
    'http://hello/',
    'http://hello.kinject-demo/',
    'http://hello.kinject-demo.svc.cluster.local/',
    `http://${clusterIp}/`,
    `http://${podIp}/`,
    'http://hello-headless/',
  ];
  const script = urls
    .map(
      (u) =>
        `curl -sS -m 10 ${u}; echo; node -e "fetch('${u}').then(r=>r.text()).then(b=>console.log(b.trim()))"; python3 -c "import urllib.request as u; print(u.urlopen('${u}', timeout=10).read().decode().strip())"`,
    )
    .join('; ');
  const r = await run(['sh', '-c', script]);
  t.equal(r.code, 0, r.stderr);
  const lines = r.stdout.split('\n').filter(Boolean);
  t.equal(lines.length, urls.length * 3, `one answer per program and URL:\n${r.stdout}`);
  t.same(
    lines.filter((line) => !helloBody.test(line)),
    [],
    "every answer is hello's",
  );
});

t.test('a pod IP goes through the proxy, not the host route the local cluster has', async (t) => {
  // the local cluster's pod IPs are routable from the host (kubelet probes need it): the shim's
  // own log shows the connection went through the proxy pod
  const r = await kinject(['run', '--verbose', '-n', NS, '--', 'curl', '-sS', '-m', '10', `http://${podIp}/`], { kubeconfig });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, helloBody);
  t.match(r.stderr, new RegExp(`connect ${podIp.replace(/\./g, '\\.')}:80 via proxy: ok`));
});

t.test('echo over raw TCP (not HTTP)', async (t) => {
  const r = await run([
    'node',
    '-e',
    `const s=require('net').connect(7,'echo',()=>s.write('raw bytes\\n'));let d='';s.on('data',c=>{d+=c;if(d.endsWith('\\n')){process.stdout.write(d);s.destroy()}})`,
  ]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'raw bytes\n');
});

t.test('a half-close travels through the tunnel: write, shutdown(SHUT_WR), read the echo to EOF', async (t) => {
  // the echo server answers everything and closes only after our FIN: a protocol that waits for
  // EOF (a bare port-forward stream cannot carry it; the mux does)
  const py = `import socket
s = socket.create_connection(('echo', 7), timeout=20)
s.sendall(b'x' * 300000)
s.shutdown(socket.SHUT_WR)
n = 0
while True:
    b = s.recv(65536)
    if not b: break
    n += len(b)
print(n)`;
  const node = `const s=require('net').connect(7,'echo',()=>s.end(Buffer.alloc(70000,1)));let n=0;s.on('data',c=>n+=c.length);s.on('end',()=>console.log(n));setTimeout(()=>{console.log('timeout',n);process.exit(1)},20000).unref()`;
  const r = await run(['sh', '-c', `python3 -c "${py.replace(/"/g, '\\"')}" && node -e "${node}"`]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, '300000\n70000\n', 'all bytes back, then EOF');
});

t.test('exit status passes through; progress goes to stderr only', async (t) => {
  const r = await run(['sh', '-c', 'echo out; exit 3']);
  t.equal(r.code, 3);
  t.equal(r.stdout, 'out\n', "stdout is the child's alone");
  t.match(r.stderr, /creating proxy pod kinject-\w+ in kinject-demo/);
  t.match(r.stderr, /tunnel up/);
  const session = sessionOf(r.stderr);
  t.same(await kinjectLeftovers(kubeconfig, NS, session), [], 'the session removed its pod, Job and Secret');
});

t.test('SIGTERM is forwarded to the child; kinject cleans up and exits with its status', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--', 'sh', '-c', 'trap "echo bye; exit 9" TERM; echo ready; while :; do sleep 0.1; done'], { kubeconfig });
  t.ok(await until(() => child.out.includes('ready'), { timeoutMs: 120_000 }), 'child started');
  child.kill('SIGTERM');
  const end = await child.exited;
  t.equal(end.code, 9);
  t.match(child.out, /bye/);
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(child.err)), []);
});

t.test('SIGINT while the proxy pod starts: kinject removes it and exits 130', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--', 'sleep', '30'], { kubeconfig });
  t.ok(await until(() => sessionOf(child.err), { timeoutMs: 60_000 }), 'pod creation started');
  child.kill('SIGINT');
  const end = await child.exited;
  t.equal(end.code, 130, child.err);
  t.same(await kinjectLeftovers(kubeconfig, NS, sessionOf(child.err)), []);
});

t.test('Ctrl-C pressed again and again: kinject finishes its cleanup, exits 130 and leaves nothing', async (t) => {
  const child = spawnKinject(['run', '-n', NS, '--output', 'json', '--', 'sh', '-c', 'echo started; exec sleep 30'], { kubeconfig });
  t.ok(await until(() => child.out.includes('started'), { timeoutMs: 120_000 }), child.err);
  let ended = false;
  child.exited.then(() => (ended = true));
  // one signal every 10 ms (at most 30 s): some reach the child, the later ones kinject's cleanup
  for (let i = 0; i < 3000 && !ended; i++) {
    child.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 10));
  }
  const end = await child.exited;
  const events = child.err
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l));
  const said = (re) => events.some((e) => re.test(e.message));
  t.ok(said(/^SIGINT received while cleaning up: kinject exits when its cleanup is done/), child.err);
  t.equal(events.at(-1).event, 'cleanup-done', 'the cleanup ran to its end');
  // 130 as a shell sees it: the child's status, or Node's own exit (after all of the cleanup) ended by the next SIGINT
  t.ok(end.code === 130 || (end.code === null && end.signal === 'SIGINT'), `exit 130: ${JSON.stringify(end)}`);
  const pod = events.find((e) => e.event === 'pod-created').pod;
  t.same(await kinjectLeftovers(kubeconfig, NS, pod.replace(/^kinject-/, '')), []);
});

t.test('five runs in parallel do not interfere', async (t) => {
  const runs = await Promise.all(
    [1, 2, 3, 4, 5].map((i) =>
      run([
        'sh',
        '-c',
        `curl -sS -m 10 http://hello/ >/dev/null && node -e "const s=require('net').connect(7,'echo',()=>s.write('run ${i}'));let d='';s.on('data',c=>{d+=c;if(d.length>=${`run ${i}`.length}){console.log(d);s.destroy()}})"`,
      ]),
    ),
  );
  const sessions = new Set();
  runs.forEach((r, i) => {
    t.equal(r.code, 0, `run ${i + 1}: ${r.stderr}`);
    t.equal(r.stdout.trim(), `run ${i + 1}`, 'each run gets its own answers');
    sessions.add(sessionOf(r.stderr));
  });
  t.equal(sessions.size, 5, 'five separate proxy pods');
  const left = await Promise.all([...sessions].map((session) => kinjectLeftovers(kubeconfig, NS, session)));
  t.same(left.flat(), [], 'all five cleaned up');
});

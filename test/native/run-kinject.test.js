// `kinject run --proxy` end to end, as an unprivileged user, in a private network namespace: curl,
// node (http, fetch, net, dns.lookup, dns.resolve4), python3 (urllib, asyncio) and java
// (HttpClient) reach the namespace's services by name and by IP through kinject and not without
// it; refused ports and unknown names fail fast with the right error; a process beside kinject
// has no access; /etc/hosts, resolv.conf and the host's routes are unchanged; exit statuses and
// signals pass through; a plain SOCKS5 server (no RESOLVE) works through stand-in addresses.
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createWorld, repoRoot } from '../helpers/netns-world.js';

// kinject runs as `nobody`: when the checkout is not reachable for it (e.g. a clone under /root),
// the checkout is bind-mounted at a readable path for the length of this test file.
function readableRepo() {
  const probe = (dir) => {
    try {
      execFileSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'test', '-r', path.join(dir, 'bin', 'kinject')]);
      return true;
    } catch {
      return false;
    }
  };
  if (probe(repoRoot)) return repoRoot;
  const mountPoint = fs.mkdtempSync('/tmp/kinject-repo-');
  fs.chmodSync(mountPoint, 0o755);
  execFileSync('mount', ['--bind', repoRoot, mountPoint]);
  t.teardown(() => {
    execFileSync('umount', ['-l', mountPoint]);
    fs.rmdirSync(mountPoint);
  });
  if (!probe(mountPoint)) throw new Error(`the checkout ${repoRoot} is not readable by nobody, even bind-mounted`);
  return mountPoint;
}
const kinjectBin = path.join(readableRepo(), 'bin', 'kinject');
// Routes of the main tables. Left out, as not kinject's doing: per-interface link-local routes
// (they come and go with the local cluster's pod veths) and the routes of test worlds (kjh*
// links, 10.207/16, 10.208/16, fd6b:6a74::/32), which other test files create and remove.
const notKinjects = /^fe80::\/64|dev kjh\d|^(blackhole )?(10\.20[78]\.|fd6b:6a74:)/;
const routes = (family) =>
  execFileSync('ip', [family, 'route', 'show', 'table', 'main'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l && !notKinjects.test(l))
    .join('\n');
const snapshot = () => ({
  hosts: fs.readFileSync('/etc/hosts', 'utf8'),
  resolv: fs.readFileSync('/etc/resolv.conf', 'utf8'),
  routes: routes('-4'),
  routes6: routes('-6'),
});

const world = await createWorld(t);
const before = snapshot();
const { web, echo, closed } = world.services;
const proxyUrl = `socks5://kinject:${world.token}@${world.pod.address}`;
const plainProxyUrl = `socks5://kinject:${world.token}@${world.socksv5.address}`;

/** runs COMMAND under `kinject run` as the unprivileged user */
const kinject = (cmd, args = [], o = {}) =>
  world.exec(kinjectBin, ['run', '--proxy', o.proxy ?? proxyUrl, ...(o.flags ?? []), '--', cmd, ...args], { user: true, ...o });
const plain = (cmd, args = [], o = {}) => world.exec(cmd, args, { user: true, ...o });

const nodeProgram = (body) => ['-e', `(async () => { ${body} })().catch((e) => { console.log('ERR', e.code || e.cause?.code || e.message); process.exit(1) })`];
const programs = {
  curl: (url) => ['curl', ['-sS', '-m', '10', url]],
  'node http': (url) => [
    process.execPath,
    nodeProgram(
      `require('http').get(${JSON.stringify(url)}, (r) => r.pipe(process.stdout)).on('error', (e) => { console.log('ERR', e.code); process.exit(1) })`,
    ),
  ],
  'node fetch': (url) => [process.execPath, nodeProgram(`process.stdout.write(await (await fetch(${JSON.stringify(url)})).text())`)],
  'python3 urllib': (url) => [
    world.python3,
    ['-c', `import urllib.request,sys; sys.stdout.write(urllib.request.urlopen(${JSON.stringify(url)}, timeout=10).read().decode())`],
  ],
  'python3 asyncio': (url) => {
    const u = new URL(url);
    return [
      world.python3,
      [
        '-c',
        [
          'import asyncio,sys',
          'async def main():',
          `    r, w = await asyncio.wait_for(asyncio.open_connection(${JSON.stringify(u.hostname)}, ${u.port || 80}), 10)`,
          `    w.write(b"GET / HTTP/1.0\\r\\nHost: x\\r\\n\\r\\n")`,
          '    data = await r.read()',
          '    sys.stdout.write(data.decode().split("\\r\\n\\r\\n", 1)[1])',
          'asyncio.run(main())',
        ].join('\n'),
      ],
    ];
  },
};

t.test('kinject runs as the unprivileged user', async (t) => {
  const r = await kinject('id', ['-u']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout.trim(), String(world.user.uid));
});

for (const [label, make] of Object.entries(programs)) {
  t.test(`${label}: by name and by IP through kinject, not without it`, async (t) => {
    for (const url of [web.url, web.urlByIp]) {
      const [cmd, args] = make(url);
      const through = await kinject(cmd, args);
      t.equal(through.code, 0, `${url}: ${through.stderr}`);
      t.equal(through.stdout, web.body, `${label} ${url} through kinject`);
      const without = await plain(cmd, args, { timeoutMs: 20000 });
      t.not(without.code, 0, `${label} ${url} without kinject fails`);
      t.not(without.stdout, web.body);
    }
  });
}

t.test('java HttpClient by name through kinject, not without it', async (t) => {
  const src = path.join(world.tmpdir, 'Fetch.java');
  fs.writeFileSync(
    src,
    [
      'import java.net.URI; import java.net.http.*; import java.time.Duration;',
      'public class Fetch { public static void main(String[] a) throws Exception {',
      '  var c = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();',
      '  var r = c.send(HttpRequest.newBuilder(URI.create(a[0])).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());',
      '  System.out.print(r.body()); } }',
    ].join('\n'),
  );
  fs.chmodSync(src, 0o644);
  const through = await kinject(world.java, [src, web.url], { timeoutMs: 120000 });
  t.equal(through.code, 0, through.stderr);
  t.equal(through.stdout, web.body);
  const without = await plain(world.java, [src, web.url], { timeoutMs: 120000 });
  t.not(without.code, 0, 'without kinject the name does not resolve');
});

t.test('node net (raw TCP echo) and DNS: dns.lookup and dns.resolve4', async (t) => {
  const r = await kinject(
    process.execPath,
    nodeProgram(`
    const dns = require('dns').promises
    const looked = await dns.lookup(${JSON.stringify(web.name)})
    const resolved = await dns.resolve4(${JSON.stringify(web.name)})
    const reply = await new Promise((res, rej) => {
      const s = require('net').connect(${echo.port}, ${JSON.stringify(echo.name)}, () => s.end('ping'))
      let got = ''; s.on('data', (d) => (got += d)); s.on('end', () => res(got)); s.on('error', rej)
    })
    console.log(JSON.stringify({ looked: looked.address, resolved, reply }))`),
  );
  t.equal(r.code, 0, r.stderr + r.stdout);
  t.same(JSON.parse(r.stdout), { looked: web.ip, resolved: [web.ip], reply: 'ping' });
});

t.test('refused port and unknown name fail fast with the right errors', async (t) => {
  const refused = await kinject('curl', ['-v', '-sS', '-m', '10', `http://${closed.name}:${closed.port}/`]);
  t.equal(refused.code, 7, refused.stderr);
  // from connect() itself, or (a non-blocking connect settled later) from SO_ERROR: both the connect's ECONNREFUSED
  t.match(refused.stderr, /(connect fail for [\d.]+|connect to [\d.]+ port \d+ failed): Connection refused/, 'curl saw ECONNREFUSED');
  t.ok(refused.ms < 8000, `refused in ${refused.ms} ms`);
  const node = await kinject(
    process.execPath,
    nodeProgram(`await new Promise((res, rej) => require('net').connect(${closed.port}, ${JSON.stringify(closed.ip)}).on('connect', res).on('error', rej))`),
  );
  t.match(node.stdout, /ERR ECONNREFUSED/);
  const unknown = await kinject('curl', ['-sS', '-m', '10', `http://${world.unknownName}/`]);
  t.equal(unknown.code, 6, unknown.stderr);
  t.ok(unknown.ms < 8000, `not found in ${unknown.ms} ms`);
  const nodeUnknown = await kinject(process.execPath, nodeProgram(`await require('dns').promises.lookup(${JSON.stringify(world.unknownName)})`));
  t.match(nodeUnknown.stdout, /ERR ENOTFOUND/);
});

t.test('a process started beside kinject has no access', async (t) => {
  const inside = kinject('sh', ['-c', `sleep 2; curl -sS -m 10 ${web.url}`]);
  const beside = await plain('curl', ['-sS', '-m', '5', web.urlByIp]);
  const r = await inside;
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, web.body, 'the process inside kinject reaches the service');
  t.not(beside.code, 0, 'the process beside it does not');
});

t.test('exit status and signals pass through', async (t) => {
  t.equal((await kinject('sh', ['-c', 'exit 42'])).code, 42);
  const killed = await kinject('sh', ['-c', 'kill -TERM $$']);
  t.equal(killed.code, 128 + 15, 'a child killed by SIGTERM: 128 + 15');
  const trap = world.spawn(
    kinjectBin,
    ['run', '--proxy', proxyUrl, '--', 'sh', '-c', 'trap "echo got TERM; exit 7" TERM; echo ready; while :; do sleep 0.1; done'],
    { user: true },
  );
  let out = '';
  trap.stdout.on('data', (d) => (out += d));
  const deadline = Date.now() + 10000;
  while (!out.includes('ready') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  trap.kill('SIGTERM');
  const code = await new Promise((res) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-trap.pid, 'SIGKILL');
      } catch {}
      res('still running 30 s after SIGTERM (hard timeout)');
    }, 30000);
    trap.on('exit', (c) => {
      clearTimeout(timer);
      res(c);
    });
  });
  t.equal(code, 7, 'SIGTERM forwarded; the child chose exit 7');
  t.match(out, /got TERM/);
  const missing = await kinject('no-such-command-kinject');
  t.equal(missing.code, 127);
  t.match(missing.stderr, /^kinject: command not found: no-such-command-kinject \(/m);
});

t.test('a static binary run many times in the tree: one warning for the run, no marks left', async (t) => {
  const dir = world.tmpdir;
  fs.writeFileSync(path.join(dir, 'st.c'), '#include <stdio.h>\nint main(void){puts("st");return 0;}\n');
  const bin = path.join(dir, 'static-st');
  execFileSync('gcc', ['-static', '-O1', '-o', bin, path.join(dir, 'st.c')]);
  fs.chmodSync(bin, 0o755);
  const r = await kinject('sh', ['-c', `for i in 1 2 3; do ${bin}; sh -c ${bin}; done`]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, 'st\n'.repeat(6));
  t.equal(
    r.stderr,
    `kinject: warning: ${bin} is a static binary: its network calls bypass kinject (run it with --method netns to capture them)\n`,
    'once for six runs in four processes',
  );
  const base = `/tmp/kinject-${world.user.uid}`;
  const marks = fs.existsSync(base) ? fs.readdirSync(base).filter((n) => n.startsWith('.warn-')) : [];
  t.same(marks, [], 'the marks directory went with the run');
});

t.test('stdin and stdout pass through untouched', async (t) => {
  const r = await kinject('cat', [], { input: 'line one\nline two\n' });
  t.equal(r.stdout, 'line one\nline two\n');
  t.equal(r.stderr, '', 'kinject prints nothing when all is well');
});

t.test('a plain SOCKS5 server (socksv5, no RESOLVE): names work through stand-in addresses', async (t) => {
  const r = await kinject('curl', ['-sS', '-m', '10', web.url], { proxy: plainProxyUrl });
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, web.body);
  const stand = await kinject('getent', ['hosts', web.name], { proxy: plainProxyUrl });
  t.match(stand.stdout, /^127\.77\.\d+\.\d+\s/, 'the name gets a stand-in address');
});

t.test('a --proxy that is down is one clear error', async (t) => {
  const r = await kinject('true', [], { proxy: `socks5://${world.deadSocks}` });
  t.equal(r.code, 1);
  t.match(r.stderr, /^kinject: cannot use the SOCKS5 proxy socks5:\/\/.*check --proxy\)$/m);
});

t.test('/etc/hosts, resolv.conf and the host routes are unchanged', async (t) => {
  t.same(snapshot(), before);
});

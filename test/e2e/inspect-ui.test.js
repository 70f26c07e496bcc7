// The inspection page in a real browser (Debian's chromium driven by playwright-core): two real
// `kinject run` sessions against the local cluster (targetless in kinject-demo, read-only) share
// one inspection server; the page shows the sessions, each connection live with its process, the
// name it came from, byte counters and how it ended (closed, refused), the lookups (an answer, no
// such name), the tunnel lost and back after its port-forward is cut (ss -K), and an intercepted
// request (fed through the session's ingest path: the real inbound producer is #14's) with its
// Authorization header hidden until clicked and a Replay to a local HTTP server beside the old
// response. A request with Host: evil.example (or a foreign Origin) is refused. A flood of 10,050
// rows keeps 10,000 with a counter. The server exits once no session lives. Screenshots go to .tap/inspect-ui/.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { createServer, request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { ensureCluster, kinjectLeftovers, repoRoot, waitFor } from '../helpers/cluster.js';
import { sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { isAlive } from '../helpers/process-tree.js';

const NS = 'kinject-demo';
const { kubeconfig } = await ensureCluster();
const shots = join(repoRoot, '.tap', 'inspect-ui');
mkdirSync(shots, { recursive: true });
const apiPort =
  new URL(/server:\s*(\S+)/.exec(execFileSync('kubectl', ['--kubeconfig', kubeconfig, 'config', 'view', '--minify'], { encoding: 'utf8' }))[1]).port || '443';
const helloPod = execFileSync('kubectl', ['--kubeconfig', kubeconfig, '-n', NS, 'get', 'pods', '-l', 'app=hello', '-o', 'jsonpath={.items[0].status.podIP}'], {
  encoding: 'utf8',
}).trim();

// a private runtime dir: this test's session registry and inspection server are its own
const runtime = mkdtempSync(join(tmpdir(), 'kinject-inspect-'));
const base = join(runtime, `kinject-${process.getuid()}`);
const env = { ...process.env, XDG_RUNTIME_DIR: runtime };
t.teardown(() => rmSync(runtime, { recursive: true, force: true }));

/** a program whose steps wait for files: touch DIR/N to run step N */
function stepped(dir, steps) {
  const lines = steps.map((cmd, i) => `i=0; while [ ! -e ${dir}/${i + 1} ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; ${cmd}; echo step${i + 1} done`);
  return ['sh', '-c', lines.join('\n')];
}

function get(port, path, headers = {}) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function apiConnections(pid) {
  const out = execFileSync('ss', ['-tnpH', 'state', 'established', `( dport = :${apiPort} )`], { encoding: 'utf8' });
  return out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => l.trim().split(/\s+/)[2].split(':').pop());
}

t.test('the inspection page shows two live sessions, their connections, lookups, tunnel and a replay', { timeout: 240_000 }, async (t) => {
  // the local process an intercept would send to: answers with a counter in JSON
  let served = 0;
  const local = createServer((req, res) => {
    served++;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ n: served, path: req.url, auth: req.headers.authorization ?? null }));
  });
  await new Promise((r) => local.listen(0, '127.0.0.1', r));
  t.teardown(() => local.close());

  const dirA = join(runtime, 'a');
  mkdirSync(dirA);
  const a = spawnKinject(
    [
      'run',
      '-n',
      NS,
      // the tunnel is cut below by killing its port-forward's connections to the API server
      // (--transport auto would pick the direct transport on this cluster)
      '--transport',
      'port-forward',
      '--',
      ...stepped(dirA, [
        'curl -sS -m 10 http://hello/',
        `curl -sS -m 10 http://${helloPod}:81/; getent hosts no-such-service || echo no such`,
        'curl -sS -m 10 http://hello/',
      ]),
    ],
    { kubeconfig, env },
  );
  t.teardown(() => a.kill('SIGKILL'));
  t.ok(
    (await until(() => /inspection page: (http:\S+)/.test(a.err) || a.exitCode !== null, { timeoutMs: 120_000 })) && /inspection page: /.test(a.err),
    `session A prints the page's address: ${a.err}`,
  );
  const url = /inspection page: (http:\S+)/.exec(a.err)[1];
  const port = Number(new URL(url).port);
  t.ok(port >= 4040 && port <= 4049, `on 127.0.0.1:${port}`);
  const idA = sessionOf(a.err);
  const server = JSON.parse(readFileSync(join(base, 'inspect.json'), 'utf8'));
  t.equal(server.port, port, 'inspect.json has the port, pid and secret');
  t.teardown(() => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {}
  });

  const dirB = join(runtime, 'b');
  mkdirSync(dirB);
  const b = spawnKinject(['run', '-n', NS, '--', ...stepped(dirB, ['true'])], { kubeconfig, env });
  t.teardown(() => b.kill('SIGKILL'));
  t.ok(
    (await until(() => /inspection page: /.test(b.err) || b.exitCode !== null, { timeoutMs: 120_000 })) && /inspection page: /.test(b.err),
    `session B is up: ${b.err}`,
  );
  t.match(b.err, `inspection page: ${url}`, 'the second session uses the same page');
  const idB = sessionOf(b.err);

  // the JSON API agrees with the local session registry
  const api = JSON.parse((await get(port, '/api/sessions')).body).sessions;
  const registry = readdirSync(join(base, 'sessions'))
    .filter((f) => f.endsWith('.json'))
    .map((f) => JSON.parse(readFileSync(join(base, 'sessions', f), 'utf8')));
  t.same(api.map((s) => s.id).sort(), registry.map((s) => s.id).sort(), '/api/sessions = the registry');
  t.same(api.map((s) => s.id).sort(), [idA, idB].sort(), 'both sessions');

  // security: foreign Host (DNS rebinding) and Origin are refused, no CORS headers
  const evil = await get(port, '/api/rows', { host: 'evil.example' });
  t.equal(evil.status, 403, `Host: evil.example is refused: ${evil.body}`);
  t.notOk(evil.body.includes('"rows"'), 'and gets no data');
  t.equal((await get(port, '/', { host: `evil.example:${port}` })).status, 403, 'the page too');
  t.equal((await get(port, '/api/rows', { origin: 'http://evil.example' })).status, 403, 'a foreign Origin is refused');
  const ok = await get(port, '/api/rows', { host: `localhost:${port}` });
  t.equal(ok.status, 200, 'Host: localhost is served');
  t.notOk(ok.headers['access-control-allow-origin'], 'no CORS header');
  t.equal((await get(port, '/api/ingest', {})).status, 404, 'ingest is POST only');

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1500, height: 800 } });
  await page.goto(url);
  await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 20_000 });
  await page.locator('#t-sessions tbody tr').nth(1).waitFor({ timeout: 20_000 });
  t.equal(await page.locator('#t-sessions tbody tr').count(), 2, 'the Sessions view lists both sessions');
  t.match(
    await page.locator(`#t-sessions tr[data-session="${idA}"]`).innerText(),
    new RegExp(`run[\\s\\S]*${NS}[\\s\\S]*kinject-${idA}[\\s\\S]*up`),
    'kind, namespace, proxy pod, tunnel',
  );
  await page.screenshot({ path: join(shots, 'sessions.png') });

  // live rows: the page is open, the program connects now
  await page.click('nav button[data-view="connection"]');
  writeFileSync(join(dirA, '1'), '');
  const hello = page.locator('#t-connection tbody tr', { hasText: 'from the name hello' }).filter({ hasText: 'closed' }).first();
  await hello.waitFor({ timeout: 30_000 });
  const cells = await hello.locator('td').allInnerTexts();
  t.match(cells[3], /curl/, `the process: ${cells[3]}`);
  t.ok(Number(cells[2]) > 0, `its pid: ${cells[2]}`);
  t.equal(cells[6], '80', 'port');
  t.match(cells[7], /^[1-9]\d* B$/, `bytes out: ${cells[7]}`);
  t.match(cells[8], /^[1-9]\d* B$/, `bytes in: ${cells[8]}`);
  t.match(a.out, /hello from hello-/, 'the program got its answer');

  writeFileSync(join(dirA, '2'), '');
  const refused = page.locator('#t-connection tbody tr', { hasText: 'refused' });
  await refused.waitFor({ timeout: 30_000 });
  t.match(await refused.innerText(), new RegExp(`${helloPod.replaceAll('.', '\\.')}[\\s\\S]*81`), 'the refused connection, its address and port');
  await page.screenshot({ path: join(shots, 'connections.png') });
  await page.click('nav button[data-view="dns"]');
  const nosuch = page.locator('#t-dns tbody tr', { hasText: 'no-such-service' }).first();
  await nosuch.waitFor({ timeout: 30_000 });
  t.match(await nosuch.innerText(), /no such name/, 'the failed lookup');
  t.match(await nosuch.innerText(), /getent hosts no-such-service/, 'and the process that asked');
  t.match(await page.locator('#t-dns tbody tr', { hasText: 'hello' }).first().innerText(), /10\.\d+\.\d+\.\d+/, "hello's answer");
  await page.fill('#fq', 'no-such');
  await until(async () => (await page.locator('#t-dns tbody tr').count()) >= 1, { timeoutMs: 5000 });
  t.ok(
    (await page.locator('#t-dns tbody tr').allInnerTexts()).every((r) => r.includes('no-such')),
    'the text filter keeps matching rows only',
  );
  await page.fill('#fq', '');
  await page.screenshot({ path: join(shots, 'dns.png') });

  // the tunnel is cut under session A
  await page.click('nav button[data-view="tunnel"]');
  const ports = apiConnections(a.pid);
  t.ok(ports.length >= 1, `session A's connections to the API server: ${ports.join(', ')}`);
  for (const p of ports) execFileSync('ss', ['-K', 'dport', '=', apiPort, 'sport', '=', p], { stdio: 'ignore' });
  t.ok(await until(() => /is back/.test(a.err), { timeoutMs: 60_000 }), 'the tunnel came back');
  await page.locator('#t-tunnel tbody tr', { hasText: 'lost' }).waitFor({ timeout: 20_000 });
  // the "back" row follows the "lost" one over the event stream: a loaded machine may show it later
  t.ok(await until(async () => (await page.locator('#t-tunnel tbody tr', { hasText: idA }).count()) >= 3, { timeoutMs: 20_000 }), 'up, lost, up again');
  await page.click('nav button[data-view="sessions"]');
  await page.locator(`#t-sessions tr[data-session="${idA}"] .tunnel-history`, { hasText: 'lost at' }).waitFor({ timeout: 20_000 });
  t.match(
    await page.locator(`#t-sessions tr[data-session="${idA}"] .tunnel-history`).innerText(),
    /up at .*lost at .*up at /,
    'the history: up, lost at, back at',
  );
  writeFileSync(join(dirA, '3'), '');
  await page.click('nav button[data-view="connection"]');
  await until(async () => (await page.locator('#t-connection tbody tr', { hasText: 'from the name hello' }).filter({ hasText: 'closed' }).count()) >= 2, {
    timeoutMs: 30_000,
  });
  t.pass('a connection after the cut shows');

  // an intercepted request, through the session's ingest path, and its replay
  const record = {
    time: new Date().toISOString(),
    protocol: 'http/1.1',
    method: 'POST',
    path: '/orders?x=1',
    requestHeaders: ['Host', 'web', 'Authorization', 'Bearer s3cret-token', 'Content-Type', 'application/json'],
    status: 201,
    responseHeaders: ['Content-Type', 'application/json'],
    durationMs: 12,
    requestBody: { base64: Buffer.from('{"item":"tea","n":2}').toString('base64'), bytes: 20, truncated: false },
    responseBody: { base64: Buffer.from('{"n":0,"old":true}').toString('base64'), bytes: 18, truncated: false },
    decision: { to: 'local', why: 'header x-dev: me' },
  };
  const body = JSON.stringify({
    session: idA,
    events: [{ type: 'intercept', time: record.time, record, local: { host: '127.0.0.1', port: local.address().port } }],
  });
  const ingest = await new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/ingest', method: 'POST', headers: { 'x-kinject-secret': server.secret, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  t.equal(ingest, 200, 'the intercept record is accepted');
  await page.click('nav button[data-view="intercept"]');
  const row = page.locator('#t-intercept tbody tr', { hasText: '/orders' });
  await row.waitFor({ timeout: 20_000 });
  t.match(await row.innerText(), /POST[\s\S]*201[\s\S]*local: header x-dev: me/, 'method, status, routing decision');
  await row.click();
  const secret = page.locator('#d-req .secret').first();
  t.notOk((await page.locator('#d-req').innerText()).includes('s3cret-token'), 'the Authorization value is hidden');
  t.match(await page.locator('#d-req').innerText(), /"item": "tea"/, 'the JSON body, pretty-printed');
  await secret.click();
  t.ok((await page.locator('#d-req').innerText()).includes('Bearer s3cret-token'), 'and shown when clicked');
  await page.click('#replay');
  await page.locator('#replay-result').waitFor({ timeout: 20_000 });
  const replayed = await page.locator('#d-new').innerText();
  t.match(replayed, /200/, `the replay's status: ${replayed}`);
  t.match(replayed, /"n": 1/, 'the new response, from the local server');
  t.match(replayed, /"path": "\/orders\?x=1"/, 'the same path');
  t.match(await page.locator('#d-old').innerText(), /"old": true/, 'beside the old one');
  t.equal(served, 1, 'the local server got the request once');
  const bogus = await get(port, '/api/rows');
  t.equal(JSON.parse(bogus.body).rows.find((r) => r.type === 'intercept').replays.length, 1, 'the API has the replay');
  await page.screenshot({ path: join(shots, 'requests.png') });
  t.equal(
    await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/api/rows/1/replay', method: 'POST' }, (res) => resolve(res.statusCode));
      req.end();
    }),
    403,
    'a replay without the page header (a cross-site form) is refused',
  );

  // 10,000 rows at most: a flood of lookups drops the oldest rows, counted, and the page still filters
  const flood = Array.from({ length: 10_050 }, (_, i) => ({
    type: 'dns',
    time: new Date().toISOString(),
    name: `flood-${i}.example`,
    error: 'no such name',
    durationMs: 0,
  }));
  const floodStatus = await new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/api/ingest', method: 'POST', headers: { 'x-kinject-secret': server.secret, 'content-type': 'application/json' } },
      (res) => {
        res.resume();
        resolve(res.statusCode);
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify({ session: idB, events: flood }));
  });
  t.equal(floodStatus, 200, '10,050 lookups ingested');
  await page.click('nav button[data-view="dns"]');
  await page.locator('#dropped', { hasText: 'older rows dropped' }).waitFor({ timeout: 60_000 });
  const apiRows = JSON.parse((await get(port, '/api/rows')).body);
  t.equal(apiRows.rows.length, 10_000, 'the API keeps 10,000 rows');
  t.ok(apiRows.dropped > 50, `and counts the dropped ones: ${apiRows.dropped}`);
  await page.fill('#fq', 'flood-10049.');
  await until(async () => (await page.locator('#t-dns tbody tr').count()) === 1, { timeoutMs: 30_000 });
  t.equal(await page.locator('#t-dns tbody tr').count(), 1, 'the filter finds the newest among 10,000 rows');
  await page.fill('#fq', '');
  await until(async () => (await page.locator('#t-dns tbody tr').count()) > 9000, { timeoutMs: 30_000 });
  t.ok((await page.locator('#t-dns tbody tr').count()) <= 10_000, 'the page shows at most 10,000 rows');

  // the sessions end; the server lives while one does, then exits
  writeFileSync(join(dirA, '1'), '');
  const endA = await a.exited;
  t.equal(endA.code, 0, a.err);
  await page.click('nav button[data-view="sessions"]');
  await until(async () => (await page.locator('#t-sessions tbody tr').count()) === 1, { timeoutMs: 20_000 });
  t.equal(await page.locator('#t-sessions tbody tr').count(), 1, 'the ended session leaves the page');
  t.equal((await get(port, '/api/health')).status, 200, 'the server stays while session B lives');
  writeFileSync(join(dirB, '1'), '');
  t.equal((await b.exited).code, 0, b.err);
  await waitFor(() => !existsSync(join(base, 'inspect.json')), { timeoutMs: 30_000, what: 'the inspection server exits' });
  t.ok(await until(() => !isAlive(server.pid), { timeoutMs: 10_000 }), 'its process is gone');
  t.same(await kinjectLeftovers(kubeconfig, NS, idA), [], 'nothing left of A');
  t.same(await kinjectLeftovers(kubeconfig, NS, idB), [], 'nothing left of B');
});

// The inspection page in a real browser (Debian's chromium driven by playwright-core) with a
// teleport and a real personal intercept, against the local cluster: the Teleport view lists
// Service names → local address:port with the connections open now and in all, live as curl and a
// held socket connect; a lookup the program makes itself over UDP (Node's c-ares, through
// kinject's DNS server) names the process that asked; the Env view shows the workload's env with
// values hidden until clicked; a request with the header sent from inside the cluster appears with
// method, path, status, headers and body, and Replay shows the local process's new answer (a
// counter) beside the old one; /api/sessions agrees with `kinject session list --json`.
// Screenshots go to .tap/inspect-ui/.
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { kinjectLeftovers, kubectlOk, repoRoot, waitFor } from '../helpers/cluster.js';
import { interceptWorld } from '../helpers/intercept/world.js';
import { kinject, sessionOf, spawnKinject, until } from '../helpers/kinject-cli.js';
import { graceEnv } from '../helpers/session-grace.js';
import { isAlive } from '../helpers/process-tree.js';

t.setTimeout(600_000);
const DEMO = 'kinject-demo';
const world = await interceptWorld(t, 'inspect-sessions');
const { kubeconfig, ns } = world;
const shots = join(repoRoot, '.tap', 'inspect-ui');
mkdirSync(shots, { recursive: true });

// a private runtime dir: this test's registry, teleport blocks and inspection server are its own
const runtime = mkdtempSync(join(tmpdir(), 'kinject-inspect-sessions-'));
const base = join(runtime, `kinject-${process.getuid()}`);
const env = { ...graceEnv, XDG_RUNTIME_DIR: runtime };
t.teardown(() => rmSync(runtime, { recursive: true, force: true }));
// teleport blocks are claimed per runtime dir: this one's search starts high, away from other
// tests' 127.1.x.y, behind blocks held by a live process whose command line names kinject
const holder = spawn('sh', ['-c', 'sleep 900', 'kinject-block-holder'], { stdio: 'ignore' });
t.teardown(() => holder.kill('SIGKILL'));
const firstBlock = 150 + Math.floor(Math.random() * 90);
mkdirSync(join(base, 'teleport-blocks'), { recursive: true, mode: 0o700 });
for (let b = 1; b < firstBlock; b++) writeFileSync(join(base, 'teleport-blocks', `block-${b}`), String(holder.pid));

/** the files under dir whose text contains what */
function filesContaining(dir, what) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = join(entry.parentPath, entry.name);
    try {
      if (readFileSync(file, 'utf8').includes(what)) out.push(file);
    } catch {}
  }
  return out;
}

function get(port, path) {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

// the local process: first a lookup of its own over UDP (c-ares), then an HTTP server that counts
const LOCAL_PORT = 19401;
const localScript = join(runtime, 'counter.cjs');
writeFileSync(
  localScript,
  `const http = require('node:http');
let n = 0;
require('node:dns').promises.resolve4('api').then((a) => console.log('api is ' + a), (e) => console.log('lookup failed: ' + e.code)).finally(() => {
  http.createServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      n++;
      res.writeHead(201, { 'content-type': 'application/json', 'x-count': String(n) });
      res.end(JSON.stringify({ n, method: req.method, path: req.url, got: body }));
    });
  }).listen(${LOCAL_PORT}, () => console.log('listening on ${LOCAL_PORT}'));
});
process.on('SIGTERM', () => process.exit(0));
`,
);

t.test('teleport table, a UDP lookup with its process, the env, and a replay of a real intercepted request', async (t) => {
  // a teleport without the hosts file: its listeners on 127.B.x.y are what the page counts
  const tp = await kinject(['teleport', '-n', DEMO, '--no-hosts'], { kubeconfig, env, timeoutMs: 180_000 });
  t.equal(tp.code, 0, tp.stderr);
  t.teardown(() => kinject(['session', 'close', '--all'], { kubeconfig, env, timeoutMs: 60_000 }));
  const helloLine = /^(127\.\d+\.0\.\d+) +80 +hello /m.exec(tp.stdout);
  t.ok(helloLine, `the table names hello: ${tp.stdout}`);
  const helloAddress = helloLine[1];
  t.match(helloAddress, new RegExp(`^127\\.(${firstBlock}|${firstBlock + 1})\\.`), 'in a block of its own');
  const url = /inspection page: (http:\S+)/.exec(tp.stderr)?.[1];
  t.ok(url, `the background teleport prints the page's address: ${tp.stderr}`);
  const port = Number(new URL(url).port);
  const server = JSON.parse(readFileSync(join(base, 'inspect.json'), 'utf8'));
  t.teardown(() => {
    try {
      process.kill(server.pid, 'SIGKILL');
    } catch {}
  });

  // the intercept session: personal, one port, the counter as the local process
  const ic = spawnKinject(
    ['run', '-n', ns, '--no-mount', '--target', 'deployment/api', '--intercept', `http:${LOCAL_PORT}`, '--header', 'x-dev=inspect', '--', 'node', localScript],
    { kubeconfig, env },
  );
  t.teardown(async () => {
    if (ic.exitCode === null && ic.signalCode === null) {
      ic.kill('SIGTERM');
      await ic.exited;
    }
  });
  await waitFor(() => (/intercepting Service api/.test(ic.err) && ic.out.includes('listening on')) || ic.exitCode !== null, {
    timeoutMs: 200_000,
    what: 'the intercept session up and its local process listening',
  });
  t.equal(ic.exitCode, null, ic.err);
  t.match(ic.err, `inspection page: ${url}`, 'the intercept session feeds the same page');
  t.match(ic.out, /api is 10\.\d+\.\d+\.\d+/, "the program's own lookup over UDP got the cluster's answer");
  const idIc = sessionOf(ic.err);

  // /api/sessions agrees with `kinject session list --json`
  const listed = JSON.parse((await kinject(['session', 'list', '--json'], { kubeconfig, env })).stdout);
  const api = JSON.parse((await get(port, '/api/sessions')).body).sessions;
  const byId = (a) => [...a].sort((x, y) => x.id.localeCompare(y.id));
  t.same(byId(api), byId(listed.filter((s) => s.alive)), '/api/sessions = the live sessions of `kinject session list --json`, field for field');
  t.same(api.map((s) => s.kind).sort(), ['intercept', 'teleport'], 'both sessions');
  const idTp = api.find((s) => s.kind === 'teleport').id;

  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
  t.teardown(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1500, height: 800 } });
  await page.goto(url);
  await page.locator('#status', { hasText: 'live' }).waitFor({ timeout: 20_000 });

  // Teleport: names → address:port, counts live
  await page.click('nav button[data-view="teleport"]');
  const helloRow = page.locator(`#t-teleport tr[data-address="${helloAddress}:80"]`);
  await helloRow.waitFor({ timeout: 20_000 });
  let cells = await helloRow.locator('td').allInnerTexts();
  t.equal(cells[0], idTp, 'the session');
  t.match(cells[3], /^hello hello\.kinject-demo /, `the names: ${cells[3]}`);
  t.match(cells[4], /^10\.\d+\.\d+\.\d+:80$/, `where it goes: ${cells[4]}`);
  t.same([cells[5], cells[6]], ['0', '0'], 'no connections yet');
  for (let i = 0; i < 2; i++) {
    const curl = execFileSync('curl', ['-sS', '-m', '10', `http://${helloAddress}/`], { encoding: 'utf8' });
    t.match(curl, /hello from hello-/, 'curl reaches hello through the teleport');
  }
  const held = net.connect(80, helloAddress);
  t.teardown(() => held.destroy());
  await new Promise((r, j) => held.once('connect', r).once('error', j));
  const counted = await until(async () => {
    const c = await helloRow.locator('td').allInnerTexts();
    return c[5] === '1' && c[6] === '3';
  });
  cells = await helloRow.locator('td').allInnerTexts();
  t.ok(counted, `one open now, three in all: ${cells.join(' | ')}`);
  t.ok(await helloRow.locator('td.live').count(), 'the open count is marked live');
  await page.screenshot({ path: join(shots, 'teleport.png') });
  held.destroy();
  t.ok(await until(async () => (await helloRow.locator('td').allInnerTexts())[5] === '0'), 'closed: none open, the total stays');

  // DNS: the lookup c-ares made over UDP names its process
  await page.click('nav button[data-view="dns"]');
  const lookup = page
    .locator('#t-dns tbody tr', { hasText: 'counter.cjs' })
    .filter({ has: page.locator('td:nth-child(3)', { hasText: /^api$/ }) })
    .first();
  await lookup.waitFor({ timeout: 20_000 }).catch(async (err) => {
    t.comment(`the DNS rows: ${(await get(port, '/api/rows?type=dns')).body}`);
    throw err;
  });
  cells = await lookup.locator('td').allInnerTexts();
  t.equal(cells[1], idIc, 'the intercept session');
  t.equal(cells[2], 'api', 'the name');
  t.match(cells[3], /^10\.\d+\.\d+\.\d+$/, `the answer: ${cells[3]}`);
  t.ok(Number(cells[5]) > 0, `the pid that asked: ${cells[5]}`);
  t.equal(cells[6], 'node counter.cjs', 'and its command (paths shortened)');
  t.equal(await lookup.locator('.proc').getAttribute('title'), `node ${localScript}`, 'in full when hovered');
  await page.screenshot({ path: join(shots, 'dns-udp.png') });

  // Env: the workload's env, values hidden until clicked
  await page.click('nav button[data-view="env"]');
  const podName = page.locator(`#t-env tr[data-name="POD_NAME"]`);
  await podName.waitFor({ timeout: 20_000 });
  t.match(await podName.innerText(), /deployment\/api/, 'from the target workload');
  const value = podName.locator('.secret');
  t.equal(await value.innerText(), '••••••', 'the value is hidden');
  await value.click();
  const shown = await value.innerText();
  t.match(shown, /^[a-z0-9][a-z0-9.-]+$/, `and shown when clicked: ${shown}`);
  await page.screenshot({ path: join(shots, 'env.png') });
  // (the value itself is also the proxy pod's name, which the registry has: look for the variable)
  t.same(filesContaining(runtime, 'POD_NAME'), [], 'the env is in no file of the runtime dir');

  // a request with the header, from inside the cluster, to the Service
  const post = `const r=require('http').request('http://api/orders?x=1',{method:'POST',headers:{'x-dev':'inspect','content-type':'application/json',authorization:'Bearer s3cret-token'}},(res)=>{let b='';res.on('data',d=>b+=d);res.on('end',()=>console.log(JSON.stringify({status:res.statusCode,body:b})))});r.end(JSON.stringify({item:'tea',n:2}))`;
  const sent = JSON.parse(
    (await kubectlOk(kubeconfig, ['-n', ns, 'exec', 'client', '--', 'node', '-e', post], { timeoutMs: 40_000 })).trim().split('\n').at(-1),
  );
  t.equal(sent.status, 201, `the in-cluster client reached the local process: ${JSON.stringify(sent)}`);
  t.match(JSON.parse(sent.body), { n: 1, path: '/orders?x=1' }, 'its first answer');

  await page.click('nav button[data-view="intercept"]');
  const row = page.locator('#t-intercept tbody tr', { hasText: '/orders' });
  await row.waitFor({ timeout: 30_000 });
  t.match(await row.innerText(), /POST[\s\S]*\/orders\?x=1[\s\S]*201[\s\S]*local/, 'method, path, status, routed to local');
  await row.click();
  const requestText = await page.locator('#d-req').innerText();
  t.match(requestText, /x-dev: inspect/i, 'the request headers');
  t.notOk(requestText.includes('s3cret-token'), 'Authorization hidden');
  t.match(requestText, /"item": "tea"/, 'the request body, pretty-printed');
  const old = page.locator('#d-old');
  const oldText = await old.innerText();
  t.match(oldText, /response: 201/, 'the status');
  t.match(oldText, /x-count: 1/i, 'the response headers');
  t.match(oldText, /"n": 1/, 'the response body');
  await page.click('#replay');
  await page.locator('#replay-result').waitFor({ timeout: 30_000 });
  const replayed = await page.locator('#d-new').innerText();
  t.match(replayed, /201/, `the replay's status: ${replayed}`);
  t.match(replayed, /"n": 2/, 'the local process answered again, differently');
  t.match(replayed, /"got": "\{\\"item\\":\\"tea\\",\\"n\\":2\}"/, 'with the same body');
  t.match(replayed, /"path": "\/orders\?x=1"/, 'to the same path');
  t.match(await old.innerText(), /"n": 1/, 'beside the old answer');
  const [oldBox, newBox] = [await old.boundingBox(), await page.locator('#d-new').boundingBox()];
  t.ok(oldBox.x + oldBox.width <= newBox.x && Math.abs(oldBox.y - newBox.y) < 2, 'side by side');
  await page.screenshot({ path: join(shots, 'replay-intercept.png') });

  ic.kill('SIGTERM');
  t.equal((await ic.exited).code, 0, `the intercept session ends cleanly: ${ic.err.split('\n').slice(-5).join('\n')}`);
  const closed = await kinject(['session', 'close', idTp], { kubeconfig, env, timeoutMs: 60_000 });
  t.equal(closed.code, 0, closed.stderr);
  await waitFor(() => !isAlive(server.pid), { timeoutMs: 30_000, what: 'the inspection server exits with the last session' });
  t.same(await world.serviceState(), world.before, 'the Service is as before');
  t.same(await kinjectLeftovers(kubeconfig, ns, idIc), [], 'nothing left of the intercept');
  t.same(await kinjectLeftovers(kubeconfig, DEMO, idTp), [], 'nothing left of the teleport');
});

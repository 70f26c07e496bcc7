// The mux path on loopback, without a cluster: the real pod server bundle (dist/proxy-pod.cjs, a
// child process) reached over plain TCP in place of the port-forward, this process as the runner
// (PodTunnel + relay, what the front does once the shim's connection is accepted), a local echo
// and HTTP server (a child), and the bench clients (a child). Prints one JSON line: throughput
// (MiB/s, runner's and pod server's CPU seconds per GiB moved, counted once like MiB/s) and N
// requests at C concurrent (seconds, both processes' CPU seconds). For A/B runs of mux changes
// and for profiles: POD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") go to the pod
// server's node; run this script itself with node --cpu-prof to profile the runner side.
// With --ws the runner reaches the pod server the port-forward way (src/tunnel/portforward.ts,
// client-node's websocket, TLS) through a local stand-in for the API server and kubelet (the
// same child as echo: a wss server speaking the port-forward channel protocol, relaying to the
// pod server over TCP), so the runner's websocket costs show up in its CPU and profile.
// usage: node bench/suites/mux-loopback.js [--ws] [MIB=200] [REQUESTS=1000] [CONCURRENCY=50]
import net from 'node:net';
import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { PodTunnel } from '../../dist/src/tunnel/pod-tunnel.js';
import { openPortForward } from '../../dist/src/tunnel/portforward.js';
import { clientRequest, CMD } from '../../dist/protocol/socks5/index.js';
import { relay } from '../../dist/protocol/relay.js';
import { processCpuSeconds } from '../lib/cpu.js';
import { repoRoot } from '../../test/helpers/repo.js';

const ws = process.argv[2] === '--ws';
const argv = process.argv.slice(ws ? 3 : 2);
const [mib, requests, concurrency] = [Number(argv[0] || 200), Number(argv[1] || 1000), Number(argv[2] || 50)];
const dir = mkdtempSync(join(tmpdir(), 'kinject-mux-loopback-'));
execFileSync(
  'openssl',
  ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1'].concat([
    '-keyout',
    join(dir, 'key.pem'),
    '-out',
    join(dir, 'cert.pem'),
  ]),
  { stdio: 'ignore' },
);
const TOKEN = 'b'.repeat(64);
writeFileSync(join(dir, 'token'), TOKEN);
const children = [];
const cleanup = () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
};
process.on('exit', cleanup);
setTimeout(() => {
  console.error('mux-loopback: gave up after 300 s');
  process.exit(1);
}, 300_000).unref();

/** starts a child and resolves with the first match of re in its stderr */
async function child(args, re) {
  const c = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  children.push(c);
  let err = '';
  const m = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${args.join(' ').slice(0, 80)} did not start: ${err}`)), 10_000);
    c.stderr.on('data', (d) => {
      err += d;
      const hit = re.exec(err);
      if (hit) {
        clearTimeout(timer);
        resolve(hit);
      }
    });
  });
  return { c, m };
}

const pod = await child(
  [
    ...(process.env.POD_NODE_ARGS ?? '').split(' ').filter(Boolean),
    join(repoRoot, 'dist/proxy-pod.cjs'),
    '--listen',
    '127.0.0.1:0',
    '--token-file',
    join(dir, 'token'),
    '--exit-when-idle',
    '60',
  ],
  /listening on 127\.0\.0\.1:(\d+)/,
);
// echo, HTTP, and the port-forward stand-in: channel 0 data, 1 errors, each opened with the port
const servers = `
const net = require('node:net'), http = require('node:http'), https = require('node:https'), fs = require('node:fs');
const { WebSocketServer } = require(${JSON.stringify(join(repoRoot, 'node_modules/ws'))});
const e = net.createServer((c) => c.pipe(c)).listen(0, '127.0.0.1', () => {
  const h = http.createServer((q, r) => r.end('hello')).listen(0, '127.0.0.1', () => {
    const tls = https.createServer({ key: fs.readFileSync(${JSON.stringify(join(dir, 'key.pem'))}), cert: fs.readFileSync(${JSON.stringify(join(dir, 'cert.pem'))}) });
    new WebSocketServer({ server: tls, perMessageDeflate: false }).on('connection', (w) => {
      const port = Buffer.from([0, 0, 0]); port.writeUInt16LE(POD_PORT, 1);
      w.send(port); w.send(Buffer.from([1, port[1], port[2]]));
      const t = net.connect(POD_PORT, '127.0.0.1');
      t.setNoDelay(true);
      t.on('data', (d) => w.send(Buffer.concat([Buffer.from([0]), d])));
      t.on('close', () => w.close());
      w.on('message', (m) => { if (m[0] === 0) t.write(m.subarray(1)); });
      w.on('close', () => t.destroy());
    });
    tls.listen(0, '127.0.0.1', () => console.error('ports', e.address().port, h.address().port, tls.address().port));
  });
});`;
const podPort = Number(pod.m[1]);
const targets = await child(['-e', servers.replaceAll('POD_PORT', String(podPort))], /ports (\d+) (\d+) (\d+)/);
const [echoPort, httpPort, wssPort] = [Number(targets.m[1]), Number(targets.m[2]), Number(targets.m[3])];
const kc = new KubeConfig();
kc.loadFromOptions({
  clusters: [{ name: 'loopback', server: `https://127.0.0.1:${wssPort}`, skipTLSVerify: true }],
  users: [{ name: 'loopback', token: 'x' }],
  contexts: [{ name: 'loopback', cluster: 'loopback', user: 'loopback' }],
  currentContext: 'loopback',
});
const tunnel = new PodTunnel({
  kc: new KubeConfig(),
  namespace: 'ns',
  pod: 'loopback',
  port: podPort,
  token: TOKEN,
  connect: async () => {
    if (ws) return openPortForward({ kc, namespace: 'ns', pod: 'loopback', port: podPort });
    const s = net.connect({ port: podPort, host: '127.0.0.1', noDelay: true });
    await once(s, 'connect');
    return s;
  },
  podGone: async () => undefined,
});
await tunnel.ready();

/** a local listener relaying each connection through its own channel to 127.0.0.1:port */
async function front(port) {
  const server = net.createServer({ allowHalfOpen: true, noDelay: true }, async (socket) => {
    const ch = await tunnel.open();
    const reply = await clientRequest(ch, CMD.CONNECT, { type: 'ipv4', host: '127.0.0.1', port }, { timeoutMs: 10_000 });
    if (reply.reply !== 0) return socket.destroy();
    relay(socket, ch);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

const cpu = () => ({ runner: process.cpuUsage(), pod: processCpuSeconds(pod.c.pid) });
const spent = (a) => {
  const r = process.cpuUsage(a.runner);
  return { runner: (r.user + r.system) / 1e6, pod: processCpuSeconds(pod.c.pid) - a.pod };
};
async function client(name, args) {
  const c = spawn(process.execPath, [join(repoRoot, 'bench/clients', name), ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(c);
  let out = '';
  c.stdout.on('data', (d) => (out += d));
  await once(c, 'exit');
  return JSON.parse(out.trim().split('\n').pop());
}

const out = { transport: ws ? 'websocket' : 'tcp', mib, requests, concurrency };
const echoFront = await front(echoPort);
let before = cpu();
const t = await client('throughput.cjs', ['127.0.0.1', String(echoFront.address().port), String(mib)]);
let s = spent(before);
const gib = mib / 1024;
Object.assign(out, { mibs: t.mibs, runner_cpu_s_per_gib: s.runner / gib, pod_cpu_s_per_gib: s.pod / gib });
const httpFront = await front(httpPort);
before = cpu();
const h = await client('http-requests.cjs', ['127.0.0.1', String(httpFront.address().port), String(requests), String(concurrency)]);
s = spent(before);
Object.assign(out, { conc_s: h.seconds, conc_failures: h.failures, conc_runner_cpu_s: s.runner, conc_pod_cpu_s: s.pod });
await tunnel.close(); // SHUTDOWN: the pod server exits (and writes its profile)
await once(pod.c, 'exit');
echoFront.close();
httpFront.close();
cleanup();
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);

// The mux path on loopback, without a cluster: the real pod server bundle (dist/proxy-pod.cjs, a
// child process) reached over plain TCP in place of the port-forward, this process as the runner
// (PodTunnel + relay, what the front does once the shim's connection is accepted), a local echo
// and HTTP server (a child), and the bench clients (a child). Prints one JSON line: throughput
// (MiB/s, runner's and pod server's CPU seconds per GiB moved, counted once like MiB/s) and N
// requests at C concurrent (seconds, both processes' CPU seconds). For A/B runs of mux changes
// and for profiles: POD_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p") go to the pod
// server's node; run this script itself with node --cpu-prof to profile the runner side.
// usage: node bench/suites/mux-loopback.js [MIB=200] [REQUESTS=1000] [CONCURRENCY=50]
import net from 'node:net';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { PodTunnel } from '../../dist/src/tunnel/pod-tunnel.js';
import { clientRequest, CMD } from '../../dist/protocol/socks5/index.js';
import { relay } from '../../dist/protocol/relay.js';
import { processCpuSeconds } from '../lib/cpu.js';
import { repoRoot } from '../../test/helpers/repo.js';

const [mib, requests, concurrency] = [Number(process.argv[2] || 200), Number(process.argv[3] || 1000), Number(process.argv[4] || 50)];
const dir = mkdtempSync(join(tmpdir(), 'kinject-mux-loopback-'));
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

const servers = `
const net = require('node:net'), http = require('node:http');
const e = net.createServer((c) => c.pipe(c)).listen(0, '127.0.0.1', () => {
  const h = http.createServer((q, r) => r.end('hello')).listen(0, '127.0.0.1', () => console.error('ports', e.address().port, h.address().port));
});`;
const targets = await child(['-e', servers], /ports (\d+) (\d+)/);
const [echoPort, httpPort] = [Number(targets.m[1]), Number(targets.m[2])];
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
const podPort = Number(pod.m[1]);
const tunnel = new PodTunnel({
  kc: new KubeConfig(),
  namespace: 'ns',
  pod: 'loopback',
  port: podPort,
  token: TOKEN,
  connect: async () => {
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

const out = { mib, requests, concurrency };
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

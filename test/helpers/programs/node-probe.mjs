// A small Node program for network tests: one operation per run, one JSON line on stdout
// ({ ok: true, ... } or { ok: false, code, message }), always with the time it took (ms).
//   node node-probe.mjs http URL | fetch URL | echo HOST PORT [TEXT] | lookup NAME [FAMILY]
//                       resolve4 NAME | reverse IP PORT | child ARGS-JSON (runs node-probe again in a child
//                       with a minimal env {PATH}) | parallel N URL... | env NAME
import http from 'node:http';
import net from 'node:net';
import dns from 'node:dns';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const [op, ...args] = process.argv.slice(2);
const started = Date.now();
const timeout = (ms) => new Promise((_, reject) => setTimeout(() => reject(Object.assign(new Error('probe timeout'), { code: 'PROBE_TIMEOUT' })), ms).unref());

const ops = {
  http: (url) =>
    new Promise((resolve, reject) => {
      const req = http.get(url, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode, body, remoteAddress: req.socket.remoteAddress }));
      });
      req.on('error', reject);
    }),
  fetch: async (url) => {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  },
  echo: (host, port, text = 'ping from the probe') =>
    new Promise((resolve, reject) => {
      const s = net.connect(Number(port), host);
      let data = '';
      s.setEncoding('utf8');
      s.on('connect', () => s.write(text));
      s.on('data', (d) => {
        data += d;
        if (data.length >= text.length) {
          const r = { data, remoteAddress: s.remoteAddress, remotePort: s.remotePort, remoteFamily: s.remoteFamily };
          s.destroy();
          resolve(r);
        }
      });
      s.on('error', reject);
    }),
  lookup: async (name, family) => {
    const r = await dns.promises.lookup(name, { family: Number(family || 0), all: true });
    return { addresses: r.map((a) => a.address) };
  },
  resolve4: async (name) => ({ addresses: await dns.promises.resolve4(name) }),
  reverse: async (ip, port) => dns.promises.lookupService(ip, Number(port)),
  child: async (json) => {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), ...JSON.parse(json)], { env: { PATH: process.env.PATH }, encoding: 'utf8' });
    return JSON.parse(out);
  },
  // N concurrent lookups + fetches (libuv's thread pool calls getaddrinfo from several threads)
  parallel: async (n, ...urls) => {
    const jobs = [];
    for (let i = 0; i < Number(n); i++) {
      const url = urls[i % urls.length];
      jobs.push(fetch(url).then((r) => r.text()));
      jobs.push(dns.promises.lookup(new URL(url).hostname).then((a) => a.address));
    }
    const results = await Promise.all(jobs);
    return { bodies: results.filter((_, i) => i % 2 === 0), addresses: results.filter((_, i) => i % 2 === 1) };
  },
  env: async (name) => ({ value: process.env[name] ?? null }),
};

try {
  if (!ops[op]) throw new Error(`unknown op ${op}`);
  const r = await Promise.race([ops[op](...args), timeout(20000)]);
  process.stdout.write(JSON.stringify({ ok: true, ms: Date.now() - started, ...r }) + '\n');
} catch (err) {
  process.stdout.write(JSON.stringify({ ok: false, ms: Date.now() - started, code: err.code ?? err.cause?.code ?? null, message: String(err.message) }) + '\n');
}
process.exit(0);

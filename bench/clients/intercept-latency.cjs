// The in-cluster client of bench/suites/intercept.js (run in the bench's toolbox pod by kubectl
// exec, so the timing is the pod's own, without kubectl's overhead):
//   node intercept-latency.cjs SPEC_JSON
// SPEC: {count, block, deadlineMs, variants: [{name, host, port, headers, mode, expect}]}; mode
// "keepalive" (one connection reused: node's Agent, maxSockets 1) or "new" (a new connection per
// request). Each variant first waits (up to 30 s) until an answer's body starts with `expect` (the
// Service switch has reached kube-proxy), then gets 20 warm-up requests; the timed requests run in
// blocks of `block` per variant, round-robin, so load drift hits every variant alike. Names are
// resolved once, before any timing. Prints one JSON line: {variants: {name: {samples, failed,
// wrong, errors}}, seconds} (wrong: an answer from the other side than `expect`).
const http = require('node:http');
const dns = require('node:dns').promises;
const spec = JSON.parse(process.argv[2]);
const started = Date.now();
const deadline = started + spec.deadlineMs;

function once(v, agent) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const req = http.get({ host: v.ip, port: v.port, path: '/bench', headers: { host: v.host, ...v.headers }, agent, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('latin1');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t0) / 1e6, status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

(async () => {
  const variants = [];
  for (const v of spec.variants) {
    const ip = (await dns.lookup(v.host, { family: 4 })).address;
    const agent = v.mode === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    variants.push({ ...v, ip, agent, result: { samples: [], failed: 0, wrong: 0, errors: [] } });
  }
  for (const v of variants) {
    const until = Math.min(deadline, Date.now() + 30_000);
    for (;;) {
      const r = await once(v, v.agent).catch(() => null);
      if (r && r.status === 200 && r.body.startsWith(v.expect)) break;
      if (Date.now() > until) throw new Error(`${v.name}: no answer from "${v.expect}" within 30 s`);
      await new Promise((ok) => setTimeout(ok, 200));
    }
    for (let i = 0; i < 20; i++) await once(v, v.agent).catch(() => null);
  }
  while (Date.now() < deadline && variants.some((v) => v.result.samples.length < spec.count)) {
    for (const v of variants) {
      const r = v.result;
      for (let i = 0; i < spec.block && r.samples.length < spec.count && Date.now() < deadline; i++) {
        try {
          const a = await once(v, v.agent);
          if (a.status !== 200) throw new Error(`status ${a.status}: ${a.body.trim().slice(0, 80)}`);
          if (!a.body.startsWith(v.expect)) r.wrong++;
          r.samples.push(a.ms);
        } catch (err) {
          r.failed++;
          if (r.errors.length < 5) r.errors.push(err.message);
          if (r.failed > spec.count) break;
        }
      }
    }
  }
  for (const v of variants) if (v.agent) v.agent.destroy();
  const out = Object.fromEntries(variants.map((v) => [v.name, v.result]));
  process.stdout.write(`${JSON.stringify({ variants: out, seconds: (Date.now() - started) / 1000 })}\n`);
  process.exit(0);
})().catch((err) => {
  process.stdout.write(`${JSON.stringify({ error: err.message })}\n`);
  process.exit(0);
});

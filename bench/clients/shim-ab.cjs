// Benchmark client, run under `kinject run`: times COMMAND ROUNDS times with the shim (this
// process's environment) and ROUNDS times without it (LD_PRELOAD and KINJECT_* removed),
// alternating, and prints JSON { shim_ms: [...], plain_ms: [...] } of wall times.
// usage: node shim-ab.cjs ROUNDS COMMAND [ARGS...]
const { spawnSync } = require('node:child_process');
const [rounds, cmd, ...args] = [Number(process.argv[2]), process.argv[3], ...process.argv.slice(4)];
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('KINJECT_')));
if (!process.env.LD_PRELOAD) { console.error('shim-ab: not running under kinject'); process.exit(2); }
function time(env) {
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) { console.error(`shim-ab: ${cmd} exited ${r.status}`); process.exit(1); }
  return Number(process.hrtime.bigint() - start) / 1e6;
}
const out = { shim_ms: [], plain_ms: [] };
time(process.env); time(plainEnv); // warm the page cache for both
for (let i = 0; i < rounds; i++) {
  out.shim_ms.push(time(process.env));
  out.plain_ms.push(time(plainEnv));
}
process.stdout.write(JSON.stringify(out) + '\n');

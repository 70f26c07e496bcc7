// Benchmark client, run under `kinject run`: times COMMAND ROUNDS times with the shim (this
// process's environment) and ROUNDS times without it (LD_PRELOAD and KINJECT_* removed),
// alternating, and prints JSON { shim_ms: [...], plain_ms: [...], shim_cpu_ms, plain_cpu_ms }:
// each run's wall time, and the CPU time (user + system) of all runs of each kind, from this
// process's waited-for children's times in /proc/self/stat (clock ticks). CPU time is steadier
// than wall time on a busy machine.
// usage: node shim-ab.cjs ROUNDS COMMAND [ARGS...]
const { spawnSync } = require('node:child_process');
const { readFileSync } = require('node:fs');
const [rounds, cmd, ...args] = [Number(process.argv[2]), process.argv[3], ...process.argv.slice(4)];
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('KINJECT_')));
if (!process.env.LD_PRELOAD) {
  console.error('shim-ab: not running under kinject');
  process.exit(2);
}
const TICK_MS = 10; // USER_HZ is 100 on Linux
function childCpuMs() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
  return (Number(f[13]) + Number(f[14])) * TICK_MS; // cutime, cstime (fields 16, 17)
}
const out = { shim_ms: [], plain_ms: [], shim_cpu_ms: 0, plain_cpu_ms: 0 };
function time(env, key) {
  const cpu = childCpuMs();
  const start = process.hrtime.bigint();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (r.status !== 0) {
    console.error(`shim-ab: ${cmd} exited ${r.status ?? r.signal}`);
    process.exit(1);
  }
  if (key) {
    out[`${key}_ms`].push(ms);
    out[`${key}_cpu_ms`] += childCpuMs() - cpu;
  }
}
time(process.env);
time(plainEnv); // warm the page cache for both
for (let i = 0; i < rounds; i++) {
  // alternate which goes first, so neither always runs right after the other
  if (i % 2) {
    time(process.env, 'shim');
    time(plainEnv, 'plain');
  } else {
    time(plainEnv, 'plain');
    time(process.env, 'shim');
  }
}
process.stdout.write(JSON.stringify(out) + '\n');

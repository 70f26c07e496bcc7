// Runs a command for a benchmark: its stdout, wall time, and the peak RSS of the process itself
// (VmHWM from /proc, sampled until it exits) — used for kinject's own memory.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';

function vmHwmMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function run(cmd, args, { env, timeoutMs = 600000, input } = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peakRssMb = 0;
    const sampler = setInterval(() => (peakRssMb = Math.max(peakRssMb, vmHwmMb(child.pid))), 50);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(input ?? '');
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      if (code !== 0) reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve({ stdout, stderr, ms, peakRssMb });
    });
  });
}

/** parses the last line of stdout as JSON (the clients print one JSON line) */
export const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

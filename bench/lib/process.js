// Runs a command for a benchmark: its stdout, wall time, each stderr line with the time it arrived
// (ms after the spawn: kinject's progress lines give the phases of a start), and the peak RSS of
// the process itself (VmHWM from /proc, sampled until it exits) and its CPU seconds (the last
// sample, every 50 ms, before it exits). bin/kinject is a sh wrapper that
// execs node, so the pid is kinject's own node process; the user's command is not counted.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { processCpuSeconds } from './cpu.js';

function vmHwmMb(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

export function run(cmd, args, { env, timeoutMs = 300000, input } = {}) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const since = () => Number(process.hrtime.bigint() - start) / 1e6;
    const child = spawn(cmd, args, { env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let partial = '';
    const lines = [];
    let peakRssMb = 0;
    let cpuSeconds = 0;
    let timedOut = false;
    const sample = () => {
      peakRssMb = Math.max(peakRssMb, vmHwmMb(child.pid));
      cpuSeconds = processCpuSeconds(child.pid) ?? cpuSeconds;
    };
    const sampler = setInterval(sample, 50);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 15000).unref();
    }, timeoutMs);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      const ms = since();
      const parts = (partial + d).split('\n');
      partial = parts.pop();
      for (const text of parts) lines.push({ ms, text });
    });
    child.stdin.on('error', () => {});
    child.stdin.end(input ?? '');
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      const ms = since();
      clearInterval(sampler);
      clearTimeout(timer);
      if (partial) lines.push({ ms, text: partial });
      const why = timedOut ? `timed out after ${timeoutMs / 1000} s` : `exited ${code ?? signal}`;
      if (code !== 0 || timedOut) reject(new Error(`${cmd} ${args.join(' ')} ${why}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`));
      else resolve({ stdout, stderr, lines, ms, peakRssMb, cpuSeconds });
    });
  });
}

/** parses the last line of stdout as JSON (the clients print one JSON line) */
export const lastJson = (stdout) => JSON.parse(stdout.trim().split('\n').pop());

// CPU time for the benchmarks: a process's user + system seconds (/proc/PID/stat), and the whole
// machine's busy seconds (/proc/stat, all CPUs: everything but idle and iowait). The throughput
// runs use them to show where the cycles go on a machine where the cluster shares the 2 cores.
import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux

/** user + system CPU seconds of pid so far, or null when it is gone */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** busy CPU seconds of the whole machine since boot, all CPUs added up */
export function machineBusySeconds() {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return (user + nice + system + irq + softirq + steal) / TICKS_PER_SECOND;
}

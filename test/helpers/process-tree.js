// A process and all its descendants on this machine (from /proc), and one signal to all of them:
// how the e2e tests play "the laptop went to sleep" (SIGSTOP of kinject, its guardian and its
// command: nothing runs, their sockets stay open, as after a suspend or a lost network) and "it
// woke up" (SIGCONT).
import { readFileSync, readdirSync } from 'node:fs';

/** {pid, ppid, comm} of every process now */
function processes() {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // "pid (comm) state ppid ...": comm may hold spaces and parentheses
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const ppid = Number(stat.slice(close + 2).split(' ')[1]);
      out.push({ pid: Number(name), ppid, comm });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** root and its descendants, root first: [{pid, comm}] */
export function processTree(root) {
  const all = processes();
  const tree = all.filter((p) => p.pid === root);
  for (let i = 0; i < tree.length && i < 1000; i++) {
    for (const p of all) if (p.ppid === tree[i].pid) tree.push(p);
  }
  return tree.map(({ pid, comm }) => ({ pid, comm }));
}

/** sends sig to each pid (gone ones are skipped) */
export function signalAll(pids, sig) {
  for (const pid of pids) {
    try {
      process.kill(pid, sig);
    } catch {
      // exited meanwhile
    }
  }
}

/** whether pid is a live process (one we may not signal counts: it exists) */
export function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

// Which local process owns the other end of a loopback TCP connection (the front's SOCKS clients
// are the launched program's processes): its local port in /proc/net/tcp gives the socket's inode,
// and the /proc/<pid>/fd links of this process's descendants give its owner. Linux only; best
// effort: undefined when the socket is gone or owned by a process we cannot read.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PeerProcess {
  pid: number;
  command: string;
}

export function peerProcess(peerPort: number, root = process.pid): PeerProcess | undefined {
  const inode = socketInode(peerPort);
  if (inode === undefined) return undefined;
  const link = `socket:[${inode}]`;
  for (const pid of descendants(root)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${pid}/fd/${fd}`) === link) return { pid, command: commandOf(pid) };
      } catch {
        // closed meanwhile
      }
    }
  }
  return undefined;
}

/** the inode of the IPv4 TCP socket whose local address is 127.0.0.1:port */
function socketInode(port: number): string | undefined {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return undefined;
  }
  for (const line of table.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f[1] === local && f[9] && f[9] !== '0') return f[9];
  }
  return undefined;
}

/** root's descendants, newest first (the program's processes are the likely owners) */
function descendants(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    } catch {
      // gone meanwhile
    }
  }
  const out: number[] = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length > 0) {
    const pid = queue.shift() as number;
    out.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return out.reverse();
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
  } catch {
    return '';
  }
}

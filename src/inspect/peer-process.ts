// Which local process owns the other end of a loopback TCP connection (the front's SOCKS clients
// are the launched program's processes) or sent a UDP datagram from a loopback port (the DNS
// server's clients): its local port in /proc/net/tcp (or /proc/net/udp, udp6) gives the socket's
// inode, and the /proc/<pid>/fd links of this process's descendants (or, with root 1, of every
// process we can read) give its owner. Linux only; best effort: undefined when the socket is gone
// or owned by a process we cannot read.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

export interface PeerProcess {
  pid: number;
  command: string;
}

export function peerProcess(peerPort: number, root = process.pid, protocol: 'tcp' | 'udp' = 'tcp'): PeerProcess | undefined {
  const inode = protocol === 'tcp' ? socketInode(peerPort) : udpSocketInode(peerPort);
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

/**
 * the inode of the UDP socket bound to port on loopback or on any address (a socket that sends
 * without binding first gets a port on 0.0.0.0), IPv4 or IPv6
 */
function udpSocketInode(port: number): string | undefined {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const local = new Set(
    ['0100007F', '00000000', '00000000000000000000000000000000', '00000000000000000000000001000000', '0000000000000000FFFF00000100007F'].map((a) => a + hex),
  );
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n')) {
      const f = line.trim().split(/\s+/);
      if (local.has(f[1]) && f[9] && f[9] !== '0') return f[9];
    }
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

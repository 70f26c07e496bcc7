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
  return peerProcesses([peerPort], root, protocol).get(peerPort);
}

/** The owners of several peer ports with one read of the socket table(s) and one walk of the process tree. */
export function peerProcesses(peerPorts: number[], root = process.pid, protocol: 'tcp' | 'udp' = 'tcp'): Map<number, PeerProcess> {
  return ownersOf(protocol === 'tcp' ? socketInodes(peerPorts) : udpSocketInodes(peerPorts), root);
}

/** port → owner for port → socket inode, walking root's descendants' fds once */
function ownersOf(inodes: Map<number, string>, root: number): Map<number, PeerProcess> {
  const found = new Map<number, PeerProcess>();
  if (inodes.size === 0) return found;
  const portOf = new Map([...inodes].map(([port, inode]) => [`socket:[${inode}]`, port]));
  for (const pid of descendants(root)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let port: number | undefined;
      try {
        port = portOf.get(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
      if (port === undefined || found.has(port)) continue;
      found.set(port, { pid, command: commandOf(pid) });
      if (found.size === inodes.size) return found;
    }
  }
  return found;
}

/** scans may take this much of every SCAN_WINDOW_MS (10 % of a core); past it they wait for the next window */
export const SCAN_BUDGET_MS = 100;
export const SCAN_WINDOW_MS = 1000;

/**
 * Owner look-ups on a CPU budget: scans get at most SCAN_BUDGET_MS of CPU per SCAN_WINDOW_MS. Within it a
 * look-up scans at once; past it look-ups wait for the next window and are served together by one
 * scan. Reading a busy machine's /proc/net/tcp (thousands of sockets) takes
 * milliseconds, more than relaying a request: one scan per connection was most of the runner's
 * CPU at 50 concurrent connections. The price, under such load only: a connection that ends
 * before its scan shows no process.
 */
export class PeerProcessBatch {
  private pending = new Map<number, Array<(owner: PeerProcess | undefined) => void>>();
  private scheduled = false;
  private windowStart = 0;
  private spent = 0;
  /** scans made so far (tests, diagnostics) */
  scans = 0;

  constructor(
    private readonly root = process.pid,
    private readonly budgetMs = SCAN_BUDGET_MS,
    /** tcp: the front's SOCKS clients; udp: the DNS server's */
    private readonly protocol: 'tcp' | 'udp' = 'tcp',
  ) {}

  ownerOf(peerPort: number): Promise<PeerProcess | undefined> {
    this.roll();
    // within the budget and nothing waiting: at once, while even the shortest connection is open
    if (!this.scheduled && this.spent < this.budgetMs) return Promise.resolve(this.timed([peerPort]).get(peerPort));
    return new Promise((resolve) => {
      const waiting = this.pending.get(peerPort);
      if (waiting) waiting.push(resolve);
      else this.pending.set(peerPort, [resolve]);
      if (this.scheduled) return;
      this.scheduled = true;
      setTimeout(() => this.scan(), this.windowStart + SCAN_WINDOW_MS - Date.now()).unref();
    });
  }

  /** a new window once the last one is over */
  private roll(): void {
    const now = Date.now();
    if (now - this.windowStart < SCAN_WINDOW_MS) return;
    this.windowStart = now;
    this.spent = 0;
  }

  private timed(ports: number[]): Map<number, PeerProcess> {
    this.scans++;
    // CPU, not wall time: on a loaded machine a scan waits for a core, and counting that wait
    // would push look-ups past the budget (and past short-lived programs) for nothing
    const started = process.cpuUsage();
    try {
      return peerProcesses(ports, this.root, this.protocol);
    } catch {
      return new Map();
    } finally {
      const used = process.cpuUsage(started);
      this.spent += (used.user + used.system) / 1000;
    }
  }

  private scan(): void {
    const batch = this.pending;
    this.pending = new Map();
    this.scheduled = false;
    this.roll();
    const found = this.timed([...batch.keys()]);
    for (const [port, waiting] of batch) for (const resolve of waiting) resolve(found.get(port));
  }
}

/** port → inode of the IPv4 TCP sockets whose local address is 127.0.0.1:port */
function socketInodes(ports: number[]): Map<number, string> {
  const wanted = new Map(ports.map((port) => [`0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`, port]));
  const out = new Map<number, string>();
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return out;
  }
  // "  sl: local rem st ... inode": only a wanted local address is worth splitting the line
  for (const line of table.split('\n')) {
    const colon = line.indexOf(': ');
    const port = colon < 0 ? undefined : wanted.get(line.substr(colon + 2, 13));
    if (port === undefined) continue;
    const f = line.trim().split(/\s+/);
    if (f[9] && f[9] !== '0') out.set(port, f[9]);
  }
  return out;
}

/**
 * port → inode of the UDP sockets bound to one of ports on loopback or on any address (a socket
 * that sends without binding first gets a port on 0.0.0.0), IPv4 or IPv6; the first one found
 */
function udpSocketInodes(ports: number[]): Map<number, string> {
  const addresses = ['0100007F', '00000000', '00000000000000000000000000000000', '00000000000000000000000001000000', '0000000000000000FFFF00000100007F'];
  const wanted = new Map<string, number>();
  for (const port of ports) {
    const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
    for (const a of addresses) wanted.set(a + hex, port);
  }
  const out = new Map<number, string>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n')) {
      const f = line.trim().split(/\s+/);
      const port = f[1] === undefined ? undefined : wanted.get(f[1]);
      if (port !== undefined && !out.has(port) && f[9] && f[9] !== '0') out.set(port, f[9]);
    }
  }
  return out;
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

/** a process's command line, as ps shows it (at most 200 characters; '' when gone) */
export function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 200);
  } catch {
    return '';
  }
}

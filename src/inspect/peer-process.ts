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

/**
 * A peer: its port, and for TCP the port it connected to here (serverPort). Linux gives one
 * ephemeral port to several connections whose destinations differ, so the peer port alone can
 * name another program's socket.
 */
export interface Peer {
  port: number;
  serverPort?: number;
}

export function peerProcess(peerPort: number, root = process.pid, protocol: 'tcp' | 'udp' = 'tcp', serverPort?: number): PeerProcess | undefined {
  const peer = { port: peerPort, serverPort };
  return peerProcesses([peer], root, protocol).get(peer);
}

/** The owners of several peers with one read of the socket table(s) and one walk of the process tree. */
export function peerProcesses(peers: Peer[], root = process.pid, protocol: 'tcp' | 'udp' = 'tcp'): Map<Peer, PeerProcess> {
  return ownersOf(protocol === 'tcp' ? socketInodes(peers) : udpSocketInodes(peers), root);
}

/** peer → owner for peer → socket inode, walking root's descendants' fds once */
function ownersOf(inodes: Map<Peer, string>, root: number): Map<Peer, PeerProcess> {
  const found = new Map<Peer, PeerProcess>();
  if (inodes.size === 0) return found;
  const portOf = new Map([...inodes].map(([peer, inode]) => [`socket:[${inode}]`, peer]));
  for (const pid of descendants(root)) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      let peer: Peer | undefined;
      try {
        peer = portOf.get(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // closed meanwhile
      }
      if (peer === undefined || found.has(peer)) continue;
      found.set(peer, { pid, command: commandOf(pid) });
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
  /** "port serverPort" → the peer and who waits for its owner */
  private pending = new Map<string, { peer: Peer; waiting: Array<(owner: PeerProcess | undefined) => void> }>();
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

  /** serverPort: for TCP, the port the peer connected to (see Peer) */
  ownerOf(peerPort: number, serverPort?: number): Promise<PeerProcess | undefined> {
    this.roll();
    const peer = { port: peerPort, serverPort };
    // within the budget and nothing waiting: at once, while even the shortest connection is open
    if (!this.scheduled && this.spent < this.budgetMs) return Promise.resolve(this.timed([peer]).get(peer));
    return new Promise((resolve) => {
      const key = `${peerPort} ${serverPort}`;
      const entry = this.pending.get(key);
      if (entry) entry.waiting.push(resolve);
      else this.pending.set(key, { peer, waiting: [resolve] });
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

  private timed(peers: Peer[]): Map<Peer, PeerProcess> {
    this.scans++;
    // CPU, not wall time: on a loaded machine a scan waits for a core, and counting that wait
    // would push look-ups past the budget (and past short-lived programs) for nothing
    const started = process.cpuUsage();
    try {
      return peerProcesses(peers, this.root, this.protocol);
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
    const found = this.timed([...batch.values()].map((entry) => entry.peer));
    for (const { peer, waiting } of batch.values()) for (const resolve of waiting) resolve(found.get(peer));
  }
}

/** peer → inode of the IPv4 TCP socket whose local address is 127.0.0.1:port (remote 127.0.0.1:serverPort when given) */
function socketInodes(peers: Peer[]): Map<Peer, string> {
  const wanted = new Map<string, Peer[]>();
  for (const peer of peers) {
    const local = loopbackHex(peer.port);
    wanted.set(local, [...(wanted.get(local) ?? []), peer]);
  }
  const out = new Map<Peer, string>();
  let table: string;
  try {
    table = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return out;
  }
  // "  sl: local rem st ... inode": only a wanted local address is worth splitting the line
  for (const line of table.split('\n')) {
    const colon = line.indexOf(': ');
    const candidates = colon < 0 ? undefined : wanted.get(line.substr(colon + 2, 13));
    if (candidates === undefined) continue;
    const f = line.trim().split(/\s+/);
    if (!f[9] || f[9] === '0') continue;
    for (const peer of candidates) if (peer.serverPort === undefined || f[2] === loopbackHex(peer.serverPort)) out.set(peer, f[9]);
  }
  return out;
}

/** 127.0.0.1:port as /proc/net/tcp writes it */
function loopbackHex(port: number): string {
  return `0100007F:${portHex(port)}`;
}

/** a port as the /proc/net tables write it: 4 upper-case hex digits */
function portHex(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

/**
 * port → inode of the UDP sockets bound to one of ports on loopback or on any address (a socket
 * that sends without binding first gets a port on 0.0.0.0), IPv4 or IPv6; the first one found
 */
function udpSocketInodes(peers: Peer[]): Map<Peer, string> {
  const addresses = ['0100007F', '00000000', '00000000000000000000000000000000', '00000000000000000000000001000000', '0000000000000000FFFF00000100007F'];
  const wanted = new Map<string, Peer>();
  for (const peer of peers) {
    const hex = `:${portHex(peer.port)}`;
    for (const a of addresses) wanted.set(a + hex, peer);
  }
  const out = new Map<Peer, string>();
  for (const file of ['/proc/net/udp', '/proc/net/udp6']) {
    let table: string;
    try {
      table = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of table.split('\n')) {
      const f = line.trim().split(/\s+/);
      const peer = f[1] === undefined ? undefined : wanted.get(f[1]);
      if (peer !== undefined && !out.has(peer) && f[9] && f[9] !== '0') out.set(peer, f[9]);
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

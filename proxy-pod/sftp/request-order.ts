// The order SFTP requests of one session are carried out in: arrival order, as OpenSSH's
// sftp-server does (sshfs pipelines dependent requests: OPEN with CREAT immediately followed by
// LSTAT of the new file, say). Only consecutive READs overlap with each other (their replies
// carry their own ids).
export class RequestOrder {
  private exclusive: Promise<void> = Promise.resolve();
  private shared = new Set<Promise<void>>();

  /** Runs `go` after everything before it; with overlap, alongside the other overlapping ones just before it. */
  run(go: () => Promise<void>, overlap = false): void {
    if (overlap) {
      const readers = this.shared;
      const p = this.exclusive.then(go);
      readers.add(p);
      void p.finally(() => readers.delete(p));
    } else {
      const before = this.shared.size ? Promise.all([this.exclusive, ...this.shared]) : this.exclusive;
      this.shared = new Set();
      this.exclusive = before.then(go);
    }
  }
}

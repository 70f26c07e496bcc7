// Benchmark client, run under `kinject run --target deployment/web`: reads a MIB-mebibyte file
// through the sshfs mount of the workload's volumes. It first writes the file into the proxy pod's
// emptyDir (DIR, default /data, i.e. $KINJECT_ROOT/data) through the mount, fsyncs and closes it;
// then, READS times (default 3), drops the file's pages from the local page cache (GNU dd
// iflag=nocache: the mount uses auto_cache, which could otherwise serve a re-read from memory) and
// reads it through a new open, so each read goes over SFTP from the pod; the median counts.
// Removes the file after. Prints JSON { mib, write_mibs, read_mibs, reads_mibs }, or
// { read_mibs: null, reason } when kinject mounted nothing (no KINJECT_ROOT in the environment).
// usage: node volume-read.cjs [MIB] [DIR] [READS]
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');
const mib = Number(process.argv[2] || 100);
const dir = process.argv[3] || '/data';
const reads = Number(process.argv[4] || 3);
const root = process.env.KINJECT_ROOT;
if (!root) {
  process.stdout.write(JSON.stringify({ mib, write_mibs: null, read_mibs: null, reason: 'KINJECT_ROOT is not set: kinject mounted no volumes' }) + '\n');
  process.exit(0);
}
const file = path.join(root, dir, `kinject-bench-${process.pid}.bin`);
const bytes = mib * 1024 * 1024;
const seconds = (t) => Number(process.hrtime.bigint() - t) / 1e9;
const plainEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'LD_PRELOAD' && !k.startsWith('KINJECT_')));

function dropCache() {
  const r = spawnSync('dd', [`if=${file}`, 'iflag=nocache', 'count=0', 'status=none'], { env: plainEnv, encoding: 'utf8', timeout: 30000 });
  if (r.status !== 0) throw new Error(`dd iflag=nocache (dropping the cached pages) failed: ${r.error?.message ?? r.stderr.trim()}`);
}

function readOnce() {
  const t = process.hrtime.bigint();
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1024 * 1024);
  let total = 0;
  for (let n = fs.readSync(fd, buf, 0, buf.length, null); n > 0; n = fs.readSync(fd, buf, 0, buf.length, null)) total += n;
  fs.closeSync(fd);
  const s = seconds(t);
  if (total !== bytes) throw new Error(`read ${total} bytes, wrote ${bytes}`);
  return s;
}

try {
  const chunk = Buffer.alloc(1024 * 1024, 0x5a);
  const t = process.hrtime.bigint();
  const fd = fs.openSync(file, 'w');
  for (let i = 0; i < mib; i++) fs.writeSync(fd, chunk);
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  const writeS = seconds(t);
  const readS = [];
  for (let i = 0; i < reads; i++) {
    dropCache();
    readS.push(readOnce());
  }
  const median = [...readS].sort((a, b) => a - b)[Math.floor(readS.length / 2)];
  process.stdout.write(JSON.stringify({ mib, write_mibs: mib / writeS, read_mibs: mib / median, reads_mibs: readS.map((s) => mib / s) }) + '\n');
} finally {
  try {
    fs.unlinkSync(file);
  } catch {}
}

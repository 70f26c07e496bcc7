// Volumes end to end with the shim: the "pod" is an SFTP server in its own mount namespace where
// /srv/kinject-web exists (a configMap-style symlink farm); locally that path does not exist. With
// the mount, volumeEnv() and libkinject.so, `cat /srv/kinject-web/app.conf` reads the pod's file.
// Needs root (unshare -m), sshfs/fuse3 and build/Release/libkinject.so.
import t from 'tap';
import { spawn, execFile } from 'node:child_process';
import { mkdtempSync, mkdirSync, writeFileSync, symlinkSync, rmSync, existsSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { generateSessionKeys, knownHostsLine } from '../../../../dist/proxy-pod/sftp/index.js';
import { mountVolumes, volumeEnv, preflightVolumes } from '../../../../dist/src/volumes/index.js';
import { findMount } from '../../../../dist/src/volumes/mountinfo.js';

const lib = join(process.cwd(), 'build/Release/libkinject.so');
const POD_PATH = '/srv/kinject-web';
const why =
  process.getuid() !== 0
    ? 'needs root for unshare -m'
    : !existsSync(lib)
      ? `no ${lib} (npm run build:native)`
      : !preflightVolumes().ok
        ? preflightVolumes().warning
        : existsSync(POD_PATH)
          ? `${POD_PATH} exists on this machine`
          : undefined;
if (why) {
  t.skip(`volumes with the shim not tried: ${why}`);
} else {
  const run = (cmd, args, env) =>
    new Promise((resolve) => {
      execFile(cmd, args, { env, encoding: 'utf8', timeout: 20000 }, (err, stdout, stderr) => resolve({ code: err ? (err.code ?? 1) : 0, stdout, stderr }));
    });
  const work = mkdtempSync(join(tmpdir(), 'kinject-volshim-'));
  const web = join(work, 'web');
  mkdirSync(join(web, '..2026_11_22_03_30_00.1'), { recursive: true });
  writeFileSync(join(web, '..2026_11_22_03_30_00.1/app.conf'), 'listen 8080 # from the pod\n');
  symlinkSync('..2026_11_22_03_30_00.1', join(web, '..data'));
  symlinkSync('..data/app.conf', join(web, 'app.conf'));
  const keys = generateSessionKeys('shim-test');
  writeFileSync(join(work, 'host_key'), keys.hostPrivateKey, { mode: 0o600 });
  writeFileSync(join(work, 'client.pub'), keys.clientPublicKey);
  writeFileSync(join(work, 'id'), keys.clientPrivateKey, { mode: 0o600 });
  writeFileSync(join(work, 'known_hosts'), knownHostsLine(keys.hostPublicKey));
  const script = join(work, 'pod.mjs');
  writeFileSync(
    script,
    `
    import { startSftpServer, sftpOptionsFromFiles } from ${JSON.stringify(pathToFileURL(join(process.cwd(), 'dist/proxy-pod/sftp/index.js')).href)};
    const s = await startSftpServer(sftpOptionsFromFiles({ host: '127.0.0.1', port: 0, hostKeyFile: ${JSON.stringify(join(work, 'host_key'))},
      authorizedKeyFile: ${JSON.stringify(join(work, 'client.pub'))}, exportsJson: JSON.stringify([{ path: ${JSON.stringify(POD_PATH)}, readOnly: true }]) }));
    process.stdout.write(s.address.port + '\\n');
  `,
  );
  chmodSync(script, 0o644);
  // The pod: a private mount namespace with a tmpfs on /srv and the tree bound at POD_PATH.
  const pod = spawn(
    'unshare',
    [
      '-m',
      '--propagation',
      'private',
      'sh',
      '-c',
      `mount -t tmpfs kinject-test /srv && mkdir -p ${POD_PATH} && mount --bind "$1" ${POD_PATH} && exec "$2" "$3"`,
      'sh',
      web,
      process.execPath,
      script,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let podErr = '';
  pod.stderr.on('data', (d) => {
    podErr += d;
  });
  const port = await new Promise((resolve) => {
    let out = '';
    const timer = setTimeout(() => resolve(undefined), 15000);
    pod.stdout.on('data', (d) => {
      out += d;
      const m = /^(\d+)\n/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    pod.on('exit', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
  });
  t.teardown(() => {
    pod.kill('SIGTERM');
    rmSync(work, { recursive: true, force: true });
  });

  t.test("a process under the shim reads the pod's volume at its in-cluster path", async (t) => {
    t.ok(port, `the pod's SFTP server runs ${podErr}`);
    if (!port) return;
    t.notOk(existsSync(POD_PATH), `${POD_PATH} does not exist locally`);
    const m = await mountVolumes({
      sshPort: port,
      clientKeyPath: join(work, 'id'),
      knownHostsPath: join(work, 'known_hosts'),
      mountDir: join(work, 'mnt'),
      exports: [POD_PATH],
    });
    t.teardown(() => m.unmount());
    const venv = volumeEnv(m.root, [POD_PATH]);
    t.equal(venv.KINJECT_PATH_MAP, `${POD_PATH}=${join(work, 'mnt')}${POD_PATH}`);
    const env = { ...process.env, ...venv, LD_PRELOAD: lib, KINJECT_LIB: lib, KINJECT_SOCKS: '127.0.0.1:9' };
    const cat = await run('cat', [`${POD_PATH}/app.conf`], env);
    t.equal(cat.stdout, 'listen 8080 # from the pod\n', `cat ${cat.stderr}`);
    const py = await run('python3', ['-c', `print(open("${POD_PATH}/app.conf").read(), end="")`], env);
    t.equal(py.stdout, 'listen 8080 # from the pod\n', `python ${py.stderr}`);
    const node = await run(process.execPath, ['-e', `process.stdout.write(require("fs").readFileSync("${POD_PATH}/app.conf", "utf8"))`], env);
    t.equal(node.stdout, 'listen 8080 # from the pod\n', `node ${node.stderr}`);
    const ls = await run('ls', [`${POD_PATH}/`], env);
    t.equal(ls.stdout, 'app.conf\n', 'ls lists the volume');
    const bare = await run('cat', [`${POD_PATH}/app.conf`], process.env);
    t.not(bare.code, 0, 'without the shim the path does not exist');
    await m.unmount();
    t.notOk(findMount(join(work, 'mnt')));
  });
}

// At least 30 bad inputs (flags, kubeconfig, contexts, namespaces, targets, images, RBAC, a quota,
// a missing sshfs, an unusable mount place...): for each, the exit code, the one-line message and
// what was left in the cluster and on this machine (must be nothing). Every case is listed in the
// results (chaos/run.js: the "Bad inputs tried" table).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { clusterLeftovers, kinjectBin, kubectl, machineLeftovers, run, sessionOf, until } from '../lib.js';
import { pathWithout } from '../../test/helpers/path-without.js';

// progress lines are not the error; the error is the one line left
const PROGRESS = /^kinject: (creating proxy pod|starting container|waiting|pod ready|tunnel up|pulling|volumes mounted|SIG\w+ received|inspection page:)/;

function cases(ns, quotaNs, dir) {
  const kc = process.env.KUBECONFIG;
  const garbage = join(dir, 'garbage.kubeconfig');
  writeFileSync(garbage, 'this: is: not: a kubeconfig\n');
  const raw = JSON.parse(execFileSync('kubectl', ['--kubeconfig', kc, 'config', 'view', '--raw', '--minify', '-o', 'json'], { encoding: 'utf8' }));
  raw.users = [{ name: raw.users[0].name, user: { token: 'not-a-valid-token' } }];
  const badToken = join(dir, 'bad-token.kubeconfig');
  writeFileSync(badToken, JSON.stringify(raw));
  const noSshfs = pathWithout('sshfs', join(dir, 'bin'));
  const notExecutable = join(dir, 'not-executable');
  writeFileSync(notExecutable, 'echo hi\n', { mode: 0o644 });
  const T = ['--', 'true'];
  return [
    ['no command', ['run']],
    ['unknown flag', ['run', '--bogus-flag', ...T]],
    ['--timeout not a number', ['run', '--timeout', 'abc', ...T]],
    ['--timeout negative', ['run', '--timeout', '-5', ...T]],
    ['--timeout 0', ['run', '--timeout', '0', ...T]],
    ['--kubeconfig missing file', ['run', '--kubeconfig', '/nonexistent/kubeconfig', ...T]],
    ['--kubeconfig not a kubeconfig', ['run', '--kubeconfig', garbage, ...T]],
    ['--kubeconfig a directory', ['run', '--kubeconfig', dir, ...T]],
    ['--context unknown', ['run', '--context', 'no-such-context', ...T]],
    ['namespace does not exist', ['run', '-n', 'kinject-no-such-namespace', ...T]],
    ['namespace invalid name', ['run', '-n', 'Bad_NS!', ...T]],
    ['--target missing deployment', ['run', '-n', ns, '--target', 'deployment/no-such', ...T]],
    ['--target unsupported kind', ['run', '-n', ns, '--target', 'cronjob/x', ...T]],
    ['--target empty name', ['run', '-n', ns, '--target', 'pod/', ...T]],
    ['--container unknown', ['run', '-n', ns, '--target', 'deployment/hello', '--container', 'nope', ...T]],
    ['--proxy-image that does not exist', ['run', '-n', ns, '--proxy-image', 'kinject.local/no-such-image:1', '--timeout', '30', ...T]],
    ['--proxy bad scheme', ['run', '--proxy', 'ftp://127.0.0.1:1', ...T]],
    ['--proxy nothing listening', ['run', '--proxy', 'socks5://127.0.0.1:1', ...T]],
    ['--proxy with -n', ['run', '--proxy', 'socks5://127.0.0.1:1080', '-n', ns, ...T]],
    ['--env-file without --target', ['run', '--env-file', join(dir, 'env'), ...T]],
    ['--env-syntax without --env-file', ['run', '--env-syntax', 'sh', ...T]],
    ['--env-syntax unknown', ['run', '-n', ns, '--target', 'deployment/hello', '--env-file', join(dir, 'env'), '--env-syntax', 'klingon', ...T]],
    ['--mount without --target', ['run', '--mount', join(dir, 'm'), ...T]],
    ['--mount path with a comma', ['run', '-n', ns, '--target', 'deployment/hello', '--mount', join(dir, 'a,b'), ...T]],
    ['--mount where nothing can be made', ['run', '-n', ns, '--target', 'deployment/hello', '--mount', '/proc/kinject-nope', ...T]],
    ['--mount without sshfs on PATH', ['run', '-n', ns, '--target', 'deployment/hello', '--mount', join(dir, 'm2'), ...T], { PATH: noSshfs }],
    ['--method unknown', ['run', '--method', 'teleport', ...T]],
    ['--local-names without a value', ['run', '--local-names']],
    ['command not found', ['run', '-n', ns, '--', '/nonexistent/command']],
    ['command not executable', ['run', '-n', ns, '--', notExecutable]],
    ['KINJECT_SESSION_GRACE_SECONDS invalid', ['run', '-n', ns, ...T], { KINJECT_SESSION_GRACE_SECONDS: '1' }],
    ['RBAC: a token the API server rejects', ['run', '--kubeconfig', badToken, '-n', ns, ...T]],
    ['quota that admits no pod', ['run', '-n', quotaNs, ...T]],
    ['unknown subcommand', ['frobnicate']],
  ];
}

export default async function badInputs({ kc, ns, note }) {
  const quotaNs = `${ns}-quota`;
  await kubectl(kc, ['create', 'namespace', quotaNs]);
  await kubectl(kc, ['-n', quotaNs, 'create', 'quota', 'no-pods', '--hard=pods=0']);
  const dir = mkdtempSync(join(tmpdir(), 'kinject-chaos-bad-'));
  const rows = [];
  try {
    for (const [name, args, env] of cases(ns, quotaNs, dir)) {
      const r = await run(kinjectBin, args, { timeoutMs: 120_000, env: { KUBECONFIG: kc, ...env } });
      const lines = r.stderr.split('\n').filter((l) => l.trim() && !PROGRESS.test(l));
      // in the cluster and on this machine (kinject's pid: its guardian, keys, marks; its session: records, mount)
      // (a guardian told "done" ends a moment after kinject: up to 3 s are allowed)
      const machine = () => machineLeftovers(undefined, sessionOf(r.stderr), r.pid);
      await until(() => machine().length === 0, 3000, 100);
      const left = [...(await clusterLeftovers(kc, ns)), ...(await clusterLeftovers(kc, quotaNs)), ...machine()];
      const row = { name, args: args.join(' '), exit: r.code ?? r.signal, message: lines[lines.length - 1] ?? '', oneLine: lines.length === 1, left };
      if (row.exit === 0 || !row.oneLine || left.length) note(`bad input "${name}": exit ${row.exit}, ${lines.length} lines: ${lines.join(' | ').slice(0, 300)}`);
      rows.push(row);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await run('kubectl', ['--kubeconfig', kc, 'delete', 'namespace', quotaNs, '--wait=false']);
  }
  return {
    tries: rows.length,
    failures: rows.filter((r) => r.exit === 0 || !r.oneLine || r.left.length).length,
    leftovers: rows.reduce((n, r) => n + r.left.length, 0),
    recovery: [],
    rows,
  };
}

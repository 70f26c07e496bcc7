// Which kubeconfig `sudo kinject teleport` uses (src/teleport/sudo.ts), with a fake passwd file and
// a fake existence check (no user is added to this machine): the invoking user's ~/.kube/config
// from SUDO_USER's passwd entry, KUBECONFIG when sudo kept it, --kubeconfig first; never root's;
// one clear line when the user has none; no sudo (not root, or SUDO_USER root) changes nothing.
// The session env under sudo (hosts-keeper.ts) is the user's: HOME, USER, KUBECONFIG, and no
// runtime dir the user does not own (their /run/user/UID when sudo dropped XDG_RUNTIME_DIR).
import t from 'tap';
import { homeIn, kubeconfigFor, sudoInvoker } from '../../../../dist/src/teleport/sudo.js';
import { sessionEnv } from '../../../../dist/src/teleport/hosts-keeper.js';

const passwd = 'root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000:Alice,,,:/home/alice:/bin/bash\nbob:x:1001:1001::/srv/bob:/bin/sh\n';
const sudo = { SUDO_USER: 'alice', SUDO_UID: '1000', SUDO_GID: '1000', HOME: '/root' };

t.test('the invoker from SUDO_* and the passwd file', async (t) => {
  t.equal(homeIn(passwd, 'bob'), '/srv/bob');
  t.equal(homeIn(passwd, 'carol'), undefined);
  t.same(
    sudoInvoker(sudo, 0, () => passwd),
    { user: 'alice', uid: 1000, gid: 1000, home: '/home/alice' },
  );
  t.equal(
    sudoInvoker(sudo, 1000, () => passwd),
    undefined,
    'not root: no sudo',
  );
  t.equal(
    sudoInvoker({ ...sudo, SUDO_USER: 'root', SUDO_UID: '0' }, 0, () => passwd),
    undefined,
    'sudo from root',
  );
  t.equal(
    sudoInvoker({ HOME: '/root' }, 0, () => passwd),
    undefined,
    'plain root',
  );
});

t.test('the kubeconfig: the invoking user’s, never root’s', async (t) => {
  const inv = sudoInvoker(sudo, 0, () => passwd);
  const all = () => true;
  t.equal(kubeconfigFor({}, sudo, inv, all), '/home/alice/.kube/config', "SUDO_USER's ~/.kube/config, not /root's");
  t.equal(kubeconfigFor({}, { ...sudo, KUBECONFIG: '/home/alice/k.yaml' }, inv, all), '/home/alice/k.yaml', 'KUBECONFIG kept by sudo');
  t.equal(kubeconfigFor({ kubeconfig: '/x' }, sudo, inv, all), '/x', '--kubeconfig first');
  t.equal(kubeconfigFor({}, { HOME: '/home/alice' }, undefined, all), undefined, 'no sudo: kubectl rules');
  t.throws(() => kubeconfigFor({}, sudo, inv, () => false), {
    message: 'run by sudo for alice, but /home/alice/.kube/config has no kubeconfig; pass --kubeconfig FILE (or sudo --preserve-env=KUBECONFIG)',
  });
  const nohome = sudoInvoker({ ...sudo, SUDO_USER: 'carol' }, 0, () => passwd);
  t.throws(() => kubeconfigFor({}, { ...sudo, SUDO_USER: 'carol' }, nohome, all), /carol's home has no kubeconfig/);
});

t.test("the session's env under sudo is the user's", async (t) => {
  const inv = sudoInvoker(sudo, 0, () => passwd);
  const env = sessionEnv(
    { ...sudo, USER: 'root', XDG_RUNTIME_DIR: '/', KINJECT_TELEPORT_LOG: '/tmp/x', PATH: '/bin' },
    inv,
    '/home/alice/.kube/config',
    '/etc/hosts',
  );
  t.equal(env.HOME, '/home/alice');
  t.equal(env.USER, 'alice');
  t.equal(env.KUBECONFIG, '/home/alice/.kube/config');
  t.equal(env.XDG_RUNTIME_DIR, undefined, "root's runtime dir dropped");
  t.equal(env.KINJECT_TELEPORT_LOG, undefined);
  t.equal(env.KINJECT_HOSTS_VIA_KEEPER, '1');
  t.equal(env.PATH, '/bin');
  t.equal(sessionEnv({}, inv, undefined, undefined).KINJECT_HOSTS_VIA_KEEPER, undefined, '--no-hosts: no keeper channel');
  // sudo dropped XDG_RUNTIME_DIR: the user's login runtime dir, when it is theirs (a dir owned by this test's uid stands in)
  const me = { ...inv, uid: process.getuid() };
  const dir = t.testdir();
  t.equal(sessionEnv({}, me, undefined, undefined, dir).XDG_RUNTIME_DIR, dir, "the user's /run/user/UID");
  t.equal(sessionEnv({ XDG_RUNTIME_DIR: '/' }, { ...inv, uid: 4242 }, undefined, undefined, dir).XDG_RUNTIME_DIR, undefined, 'not theirs: none');
  t.equal(sessionEnv({}, me, undefined, undefined, '/nonexistent/run/user').XDG_RUNTIME_DIR, undefined, 'no such dir: none');
});

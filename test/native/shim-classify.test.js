// Unit tests of the shim's classification (native/classify.c) through its test entry points,
// loaded into this (tap) process with koffi. KINJECT_SOCKS is unset here, so loading the
// shim must change nothing: it stays disabled and this process's networking is untouched.
import t from 'tap';
import koffi from 'koffi';
import net from 'node:net';
import os from 'node:os';
import { shimPath } from '../helpers/netns-world.js';

delete process.env.KINJECT_SOCKS;
const lib = koffi.load(shimPath());
const classify = lib.func('int kinject_classify_for_test(const char *addr)');
const isLocal = lib.func('int kinject_name_is_local_for_test(const char *name, const char *localNames, const char *hostname)');
const enabled = lib.func('int kinject_enabled_for_test(void)');
const replyErrno = lib.func('int kinject_reply_errno_for_test(int rep)');

t.test('SOCKS reply codes map to errno as docs/design.md says', async (t) => {
  const E = os.constants.errno;
  const want = { 1: E.ECONNREFUSED, 2: E.EACCES, 3: E.ENETUNREACH, 4: E.EHOSTUNREACH, 5: E.ECONNREFUSED, 6: E.ETIMEDOUT, 7: E.EOPNOTSUPP, 8: E.EAFNOSUPPORT };
  for (const [rep, errno] of Object.entries(want)) t.equal(replyErrno(Number(rep)), errno, `reply ${rep}`);
});

t.test('addresses: loopback and unspecified stay local, the rest is proxied', async (t) => {
  const local = ['127.0.0.1', '127.1.2.3', '127.255.255.254', '0.0.0.0', '::1', '::', '::ffff:127.0.0.1', '::ffff:127.9.9.9'];
  const proxied = [
    '10.0.0.1',
    '192.168.1.1',
    '8.8.8.8',
    '172.16.0.1',
    '169.254.1.1',
    'fd00::1',
    '2001:db8::1',
    'fe80::1',
    '::ffff:10.1.2.3',
    '::ffff:8.8.8.8',
    // the fake range: loopback, yet proxied
    '127.77.0.1',
    '127.77.255.255',
    '::ffff:127.77.3.4',
  ];
  for (const a of local) t.equal(classify(a), 0, `${a} is local`);
  for (const a of proxied) t.equal(classify(a), 1, `${a} is proxied`);
  t.equal(classify('127.76.255.255'), 0, 'just below the fake range is local');
  t.equal(classify('127.78.0.0'), 0, 'just above the fake range is local');
  t.equal(classify('not-an-address'), -1);
});

t.test('names: localhost, *.localhost, the hostname, numeric and KINJECT_LOCAL_NAMES are local', async (t) => {
  const host = 'devbox.example.org';
  const ln = 'db.internal, .corp.example ,printer';
  const cases = [
    ['localhost', 1],
    ['LOCALHOST', 1],
    ['localhost.', 1],
    ['app.localhost', 1],
    ['a.b.localhost', 1],
    ['devbox.example.org', 1],
    ['devbox', 1],
    ['DEVBOX.example.org.', 1],
    ['10.1.2.3', 1],
    ['::1', 1],
    ['fe80::1%eth0', 1],
    ['127.77.0.5', 1],
    ['db.internal', 1],
    ['x.corp.example', 1],
    ['corp.example', 1],
    ['printer', 1],
    ['web', 0],
    ['web.default.svc.cluster.local', 0],
    ['localhost.example', 0],
    ['notlocalhost', 0],
    ['devbox2', 0],
    ['db.internal.evil', 0],
    ['xcorp.example', 0],
    ['printers', 0],
    ['google.com', 0],
  ];
  for (const [name, want] of cases) t.equal(isLocal(name, ln, host), want, `${name} -> ${want ? 'local' : 'cluster'}`);
  t.equal(isLocal('web', null, null), 0);
  t.equal(isLocal('localhost', null, ''), 1);
});

t.test('loaded without KINJECT_SOCKS the shim stays off and this process is untouched', async (t) => {
  t.equal(enabled(), 0);
  const srv = net.createServer((s) => s.end('ok'));
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const got = await new Promise((resolve, reject) => {
    const c = net.connect(srv.address().port, '127.0.0.1');
    let d = '';
    c.on('data', (x) => {
      d += x;
    });
    c.on('end', () => resolve(d));
    c.on('error', reject);
  });
  srv.close();
  t.equal(got, 'ok');
});

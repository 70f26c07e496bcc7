// --output json's lines: known progress messages become named events with fields, others keep a
// generic event; through the CLI, an error (a dead --proxy) is a JSON line too, then cleanup-done.
import t from 'tap';
import { execFile } from 'node:child_process';
import { classify } from '../../../dist/src/log-json.js';
import { kinjectBin } from '../../../test/helpers/kinject-cli.js';

const parse = (line) => JSON.parse(line);

t.test('classify', async (t) => {
  t.match(parse(classify('creating proxy pod kinject-ab12 in shop from deployment/api', 'progress')), {
    event: 'pod-created',
    pod: 'kinject-ab12',
    namespace: 'shop',
    target: 'deployment/api',
    message: 'creating proxy pod kinject-ab12 in shop from deployment/api',
  });
  t.notOk('target' in parse(classify('creating proxy pod kinject-ab12 in shop', 'progress')));
  t.match(parse(classify('pod ready: kinject-ab12-x9', 'progress')), { event: 'pod-ready', pod: 'kinject-ab12-x9' });
  t.match(parse(classify('tunnel up to kinject-ab12-x9', 'progress')), { event: 'tunnel-up', pod: 'kinject-ab12-x9' });
  t.match(parse(classify('volumes mounted at /run/user/0/kinject-0/ab12: /etc/config, /data', 'progress')), {
    event: 'volumes-mounted',
    root: '/run/user/0/kinject-0/ab12',
  });
  t.match(parse(classify('the tunnel to the proxy pod shop/kinject-ab12-x9 was lost (EOF); open connections were reset, reconnecting', 'warning')), {
    event: 'tunnel-lost',
    pod: 'shop/kinject-ab12-x9',
  });
  t.match(parse(classify('the tunnel to the proxy pod shop/kinject-ab12-x9 is back', 'warning')), { event: 'tunnel-back' });
  t.match(parse(classify('starting container', 'progress')), { event: 'progress', message: 'starting container' });
  t.match(parse(classify('warning: /x is a Go binary', 'warning')), { event: 'warning' });
});

t.test('an error through the CLI', async (t) => {
  const r = await new Promise((resolve) =>
    execFile(
      kinjectBin,
      ['--no-project-file', 'run', '--proxy', 'socks5://127.0.0.1:1', '--output', 'json', '--', 'true'],
      { timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stderr }),
    ),
  );
  t.equal(r.code, 1);
  const lines = r.stderr.trimEnd().split('\n').map(parse);
  t.match(lines, [{ event: 'error', exitCode: 1, message: /^cannot use the SOCKS5 proxy socks5:\/\/127\.0\.0\.1:1: / }, { event: 'cleanup-done' }]);
  t.equal(lines.length, 2);
});

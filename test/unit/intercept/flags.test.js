// kinject run's intercept flags (src/intercept/flags.ts): PORT[:LOCALPORT] by number or name,
// headers parsed once, and each misuse a one-line usage error (exit 2) naming the fix.
import t from 'tap';
import { parseInterceptFlags } from '../../../dist/src/intercept/flags.js';

t.test('valid flags', async (t) => {
  t.same(parseInterceptFlags({ intercept: ['80:3000', 'grpc'], header: ['X-Dev=alice'], pathPrefix: '/api' }, true), {
    ports: [{ port: 80, localPort: 3000 }, { port: 'grpc' }],
    headers: [{ name: 'x-dev', value: 'alice' }],
    pathPrefix: '/api',
    service: undefined,
  });
  t.equal(parseInterceptFlags({}, true), undefined, 'no intercept');
});

t.test('misuse: one line, exit 2', async (t) => {
  const cases = [
    [{ intercept: ['80'] }, false, /--intercept takes the traffic of a workload: add --target/],
    [{ header: ['x=1'] }, true, /--header filters an intercept: add --intercept/],
    [{ service: 'api' }, true, /--service filters an intercept/],
    [{ intercept: ['0'] }, true, /PORT "0" is not a port number/],
    [{ intercept: ['80:99999'] }, true, /LOCALPORT "99999" is not a port number/],
    [{ intercept: ['Bad_Name'] }, true, /PORT is a Service port number or name/],
    [{ intercept: ['80', '80:3000'] }, true, /--intercept 80 is given twice/],
    [{ intercept: ['80'], header: ['novalue'] }, true, /--header "novalue": expected NAME=VALUE/],
    [{ intercept: ['80'], pathPrefix: 'api' }, true, /--path-prefix "api" must start with \//],
  ];
  for (const [flags, target, want] of cases) {
    t.throws(() => parseInterceptFlags(flags, target), { message: want, exitCode: 2 }, JSON.stringify(flags));
  }
});

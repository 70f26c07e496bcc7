// docs/design.md is the contract between kinject's parts: the figures it states (the mux's frame
// types, window, grant step, payload limits and ping interval; the SOCKS command codes and
// request hosts) are read from the document and compared with the code, so a change to either
// that the other does not follow fails here.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/repo.js';
import { FRAME, INITIAL_WINDOW, GRANT_STEP, MAX_DATA_PAYLOAD, MAX_FRAME_PAYLOAD, DEFAULT_PING_MS } from '../../dist/protocol/mux/index.js';
import { CMD } from '../../dist/protocol/socks5/index.js';
import { CMD_ENV, CMD_HEARTBEAT, CMD_MUX, ENV_HOST, HEARTBEAT_HOST, MUX_HOST } from '../../dist/protocol/commands.js';
import { CMD_EVENTS, CMD_INTERCEPT, CMD_INTERCEPT_END, EVENTS_HOST, INTERCEPT_END_HOST, INTERCEPT_HOST } from '../../dist/protocol/intercept/commands.js';
import { DRAIN_MS } from '../../dist/proxy-pod/inbound/intercept-host.js';

const doc = readFileSync(join(repoRoot, 'docs', 'design.md'), 'utf8').replace(/\s+/g, ' ');
const UNIT = { KiB: 1024, MiB: 1024 * 1024 };

/** the one match of `re` in the document (fails the test when there is none) */
function find(t, re, what) {
  const m = re.exec(doc);
  t.ok(m, `docs/design.md states ${what}`);
  return m ?? [];
}
const bytes = (n, unit) => Number(n) * UNIT[unit];

t.test('mux frame types: the list in the document is FRAME, no more, no less', async (t) => {
  const [, list] = find(t, /Types: (.*?)\. The runner opens/, 'the frame types');
  const stated = Object.fromEntries([...list.matchAll(/\b(\d+) ([A-Z]+)\b/g)].map((m) => [m[2], Number(m[1])]));
  t.same(stated, { ...FRAME });
});

t.test('mux figures: payload limits, window, grant step, pings', async (t) => {
  const [, max, maxUnit, data, dataUnit] = find(t, /payload \(at most (\d+) (KiB|MiB); senders cut DATA at (\d+) (KiB|MiB)\)/, 'the payload limits');
  t.equal(bytes(max, maxUnit), MAX_FRAME_PAYLOAD, 'largest frame payload');
  t.equal(bytes(data, dataUnit), MAX_DATA_PAYLOAD, 'largest DATA payload');
  const [, win, winUnit] = find(t, /each side may send (\d+) (KiB|MiB) before the receiver grants more/, 'the window');
  t.equal(bytes(win, winUnit), INITIAL_WINDOW, 'window');
  const [, step, stepUnit] = find(t, /credit is given back in steps of (\d+) (KiB|MiB)/, 'the grant step');
  t.equal(bytes(step, stepUnit), GRANT_STEP, 'grant step');
  const [, ping, dead] = find(t, /sends a PING every (\d+) s; any frame from the pod counts as an answer, none for (\d+) s/, 'the ping interval');
  t.equal(Number(ping) * 1000, DEFAULT_PING_MS, 'ping interval');
  t.equal(Number(dead) * 1000, 3 * DEFAULT_PING_MS, 'a session without frames this long is dead (3 pings)');
});

t.test('SOCKS commands: codes and request hosts', async (t) => {
  const code = (name) => Number(find(t, new RegExp(`\\b${name} \\((0x[0-9A-F]{2})\\b`), `${name}'s code`)[1]);
  t.equal(code('RESOLVE'), CMD.RESOLVE);
  t.equal(code('RESOLVE_PTR'), CMD.RESOLVE_PTR);
  t.equal(code('ENV'), CMD_ENV);
  t.equal(code('HEARTBEAT'), CMD_HEARTBEAT);
  t.equal(code('MUX'), CMD_MUX);
  const host = (name) => find(t, new RegExp(`\\b${name} \\(0x[0-9A-F]{2}, kinject's own\\): request ATYP 3 domain "([a-z]+)"`), `${name}'s host`)[1];
  t.equal(host('ENV'), ENV_HOST);
  t.equal(host('HEARTBEAT'), HEARTBEAT_HOST);
  t.equal(host('MUX'), MUX_HOST);
  t.equal(code('EVENTS'), CMD_EVENTS);
  t.equal(code('INTERCEPT'), CMD_INTERCEPT);
  t.equal(code('INTERCEPT_END'), CMD_INTERCEPT_END);
  const host2 = (name) => find(t, new RegExp(`\\b${name} \\(0x[0-9A-F]{2}, kinject's own\\): request ATYP 3 domain "([a-z-]+)"`), `${name}'s host`)[1];
  t.equal(host2('EVENTS'), EVENTS_HOST);
  t.equal(host2('INTERCEPT'), INTERCEPT_HOST);
  t.equal(host2('INTERCEPT_END'), INTERCEPT_END_HOST);
  const [, drain] = find(t, /drains its routers \((\d+) s of/, 'the drain time');
  t.equal(Number(drain) * 1000, DRAIN_MS);
});

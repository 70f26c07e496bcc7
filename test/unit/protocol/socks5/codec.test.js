// Unit tests of the pure SOCKS5 codec (dist/protocol/socks5): round trips, partial buffers,
// malformed input, every ATYP, RESOLVE / RESOLVE_PTR message shapes, reply-code mapping.
import t from 'tap';
import * as s from '../../../../dist/protocol/socks5/index.js';

const hex = (str) => Buffer.from(str.replace(/\s+/g, ''), 'hex');

/** Every strict prefix of a complete message must parse as "need more bytes". */
function assertNeedsMore(t, parser, full) {
  const parsed = [];
  for (let n = 0; n < full.length; n++) {
    if (parser(full.subarray(0, n)) !== null) parsed.push(n);
  }
  t.same(parsed, [], `every strict prefix of the ${full.length}-byte message needs more bytes (listed: lengths that parsed)`);
}

t.test('constants', async (t) => {
  t.equal(s.SOCKS_VERSION, 5);
  t.equal(s.CMD.CONNECT, 0x01);
  t.equal(s.CMD.RESOLVE, 0xf0);
  t.equal(s.CMD.RESOLVE_PTR, 0xf1);
  t.same(s.ATYP, { IPV4: 1, DOMAIN: 3, IPV6: 4 });
  t.equal(s.METHOD.USERPASS, 2);
  t.equal(s.METHOD.NO_ACCEPTABLE, 0xff);
  t.equal(s.REPLY.TTL_EXPIRED, 6);
  t.equal(s.KINJECT_USERNAME, 'kinject');
  t.equal(s.commandName(0xf0), 'RESOLVE');
  t.equal(s.commandName(0x42), 'CMD_0x42');
});

t.test('greeting', async (t) => {
  const b = s.serializeGreeting([0, 2]);
  t.same(b, hex('05 02 00 02'));
  t.same(s.parseGreeting(b), { value: { methods: [0, 2] }, consumed: 4 });
  assertNeedsMore(t, s.parseGreeting, b);
  // trailing bytes (pipelined auth) are not consumed
  const more = Buffer.concat([b, hex('01 07')]);
  t.equal(s.parseGreeting(more).consumed, 4);
  t.same(s.parseGreeting(hex('05 00')), { value: { methods: [] }, consumed: 2 });
  t.throws(() => s.parseGreeting(hex('04 01 00')), { code: 'ESOCKS5_PROTOCOL' });
  t.throws(() => s.serializeGreeting([]), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeGreeting([256]), { code: 'ESOCKS5_INVALID' });
});

t.test('method choice', async (t) => {
  const b = s.serializeMethodChoice(s.METHOD.NO_ACCEPTABLE);
  t.same(b, hex('05 ff'));
  t.same(s.parseMethodChoice(b), { value: { method: 0xff }, consumed: 2 });
  assertNeedsMore(t, s.parseMethodChoice, b);
  t.throws(() => s.parseMethodChoice(hex('01 00')), { code: 'ESOCKS5_PROTOCOL' });
});

t.test('RFC 1929 auth request and reply', async (t) => {
  const b = s.serializeAuthRequest('kinject', 's3cret-tøken');
  t.equal(b[0], 1);
  t.equal(b[1], 7);
  t.same(s.parseAuthRequest(b), { value: { username: 'kinject', password: 's3cret-tøken' }, consumed: b.length });
  assertNeedsMore(t, s.parseAuthRequest, b);
  t.throws(() => s.parseAuthRequest(hex('05 01 41 01 42')), { code: 'ESOCKS5_PROTOCOL' });
  t.throws(() => s.serializeAuthRequest('', 'x'), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeAuthRequest('kinject', 'x'.repeat(256)), { code: 'ESOCKS5_INVALID' });
  t.same(s.serializeAuthRequest('u', 'p'.repeat(255)).length, 3 + 1 + 255);

  const ok = s.serializeAuthReply(0);
  t.same(ok, hex('01 00'));
  t.same(s.parseAuthReply(ok), { value: { status: 0 }, consumed: 2 });
  t.same(s.parseAuthReply(hex('01 01')).value, { status: 1 });
  t.same(s.parseAuthReply(hex('05 00')).value, { status: 0 }, 'version 5 tolerated in auth reply');
  assertNeedsMore(t, s.parseAuthReply, ok);
  t.throws(() => s.parseAuthReply(hex('02 00')), { code: 'ESOCKS5_PROTOCOL' });
});

t.test('requests: every ATYP round trips', async (t) => {
  const cases = [
    [{ type: 'ipv4', host: '10.1.2.3', port: 6379 }, '05 01 00 01 0a010203 18eb'],
    [{ type: 'ipv6', host: '2001:db8::1', port: 443 }, '05 01 00 04 20010db8000000000000000000000001 01bb'],
    [{ type: 'domain', host: 'redis.ns', port: 6379 }, '05 01 00 03 08 72656469732e6e73 18eb'],
  ];
  for (const [dest, wire] of cases) {
    const b = s.serializeRequest(s.CMD.CONNECT, dest);
    t.same(b, hex(wire), `${dest.type} encodes`);
    t.same(s.parseRequest(b), { value: { command: 1, destination: dest }, consumed: b.length }, `${dest.type} decodes`);
    assertNeedsMore(t, s.parseRequest, b);
    const tail = Buffer.concat([b, Buffer.from('GET / HTTP/1.1\r\n')]);
    t.equal(s.parseRequest(tail).consumed, b.length, 'optimistic data after the request is left alone');
  }
});

t.test('RESOLVE and RESOLVE_PTR shapes', async (t) => {
  const resolve = s.serializeRequest(s.CMD.RESOLVE, { type: 'domain', host: 'db.prod.svc.cluster.local', port: 0 });
  t.same(resolve.subarray(0, 5), hex('05 f0 00 03 19'));
  t.same(resolve.subarray(-2), hex('0000'));
  t.same(s.parseRequest(resolve).value, { command: 0xf0, destination: { type: 'domain', host: 'db.prod.svc.cluster.local', port: 0 } });
  // RESOLVE reply: ATYP 1 (or 4) with the address
  const r4 = s.serializeReply(0, { type: 'ipv4', host: '10.96.0.10', port: 0 });
  t.same(r4, hex('05 00 00 01 0a60000a 0000'));
  t.same(s.parseReply(r4).value, { reply: 0, bound: { type: 'ipv4', host: '10.96.0.10', port: 0 } });
  const r6 = s.serializeReply(0, { type: 'ipv6', host: 'fd00::a', port: 0 });
  t.same(s.parseReply(r6).value.bound, { type: 'ipv6', host: 'fd00::a', port: 0 });

  const ptr = s.serializeRequest(s.CMD.RESOLVE_PTR, { type: 'ipv4', host: '10.96.0.10', port: 0 });
  t.same(ptr, hex('05 f1 00 01 0a60000a 0000'));
  const ptr6 = s.serializeRequest(s.CMD.RESOLVE_PTR, { type: 'ipv6', host: '::1', port: 0 });
  t.same(s.parseRequest(ptr6).value, { command: 0xf1, destination: { type: 'ipv6', host: '::1', port: 0 } });
  // RESOLVE_PTR reply: ATYP 3 with the name
  const rp = s.serializeReply(0, { type: 'domain', host: 'kube-dns.kube-system.svc.cluster.local', port: 0 });
  t.equal(rp[3], 3);
  t.same(s.parseReply(rp).value.bound.host, 'kube-dns.kube-system.svc.cluster.local');
  assertNeedsMore(t, s.parseReply, rp);
});

t.test('replies', async (t) => {
  const fail = s.serializeReply(s.REPLY.HOST_UNREACHABLE);
  t.same(fail, hex('05 04 00 01 00000000 0000'), 'failure replies default to 0.0.0.0:0');
  t.same(s.parseReply(fail).value, { reply: 4, bound: { type: 'ipv4', host: '0.0.0.0', port: 0 } });
  t.equal(s.isSuccess(s.parseReply(fail).value), false);
  t.equal(s.isSuccess(s.parseReply(s.serializeReply(0)).value), true);
  t.throws(() => s.parseReply(hex('05 00 00 07 00')), { code: 'ESOCKS5_PROTOCOL' });
  t.equal(
    (() => {
      try {
        s.parseReply(hex('05 00 00 07 00'));
      } catch (e) {
        return e.replyCode;
      }
    })(),
    undefined,
    'a bad ATYP in a reply carries no reply code',
  );
  t.throws(() => s.serializeReply(256), { code: 'ESOCKS5_INVALID' });
});

t.test('malformed requests', async (t) => {
  t.throws(() => s.parseRequest(hex('04 01 00 01 7f000001 0050')), { code: 'ESOCKS5_PROTOCOL' }, 'SOCKS4 version');
  t.equal(s.parseRequest(hex('05')), null);
  t.throws(() => s.parseRequest(hex('05 01 00 02 00')), { code: 'ESOCKS5_PROTOCOL', replyCode: 8 }, 'unknown ATYP -> reply 8');
  t.throws(() => s.parseRequest(hex('05 01 00 03 00 0050')), { code: 'ESOCKS5_PROTOCOL', replyCode: 8 }, 'empty domain');
  t.same(s.parseRequest(hex('05 02 00 01 7f000001 0050')).value.command, 2, 'unknown commands parse; the server refuses them');
  t.throws(() => s.serializeRequest(1, { type: 'ipv4', host: '1.2.3', port: 1 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'ipv6', host: 'fe80::1%eth0', port: 1 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'domain', host: 'x'.repeat(256), port: 1 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'domain', host: '', port: 1 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'ipv4', host: '1.2.3.4', port: 65536 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'ipv4', host: '1.2.3.4', port: 1.5 }), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.serializeRequest(1, { type: 'bogus', host: '1.2.3.4', port: 1 }), { code: 'ESOCKS5_INVALID' });
  const max = s.serializeRequest(1, { type: 'domain', host: 'x'.repeat(255), port: 65535 });
  t.equal(s.parseRequest(max).value.destination.host.length, 255);
});

t.test('IPv6 text <-> bytes', async (t) => {
  const cases = {
    '::': '::',
    '::1': '::1',
    '1::': '1::',
    '2001:DB8::1': '2001:db8::1',
    'fe80:0:0:0:1:0:0:1': 'fe80::1:0:0:1',
    '1:0:0:2:0:0:0:3': '1:0:0:2::3',
    '1:2:3:4:5:6:7:8': '1:2:3:4:5:6:7:8',
    '1:0:2:3:4:5:6:7': '1:0:2:3:4:5:6:7',
    '::ffff:10.0.0.1': '::ffff:10.0.0.1',
    '64:ff9b::192.0.2.33': '64:ff9b::c000:221',
  };
  for (const [input, canonical] of Object.entries(cases)) {
    const bytes = s.ipv6ToBytes(input);
    t.equal(bytes.length, 16);
    t.equal(s.bytesToIpv6(bytes), canonical, `${input} -> ${canonical}`);
  }
  t.same(s.ipv6ToBytes('::ffff:1.2.3.4'), hex('00000000000000000000ffff01020304'));
  t.throws(() => s.ipv6ToBytes('1.2.3.4'), { code: 'ESOCKS5_INVALID' });
  t.throws(() => s.ipv4ToBytes('::1'), { code: 'ESOCKS5_INVALID' });
});

t.test('destinations', async (t) => {
  t.same(s.toDestination('10.0.0.1', 80), { type: 'ipv4', host: '10.0.0.1', port: 80 });
  t.same(s.toDestination('[::1]', 80), { type: 'ipv6', host: '::1', port: 80 });
  t.same(s.toDestination('fd00::1', 80), { type: 'ipv6', host: 'fd00::1', port: 80 });
  t.same(s.toDestination('redis.ns', 6379), { type: 'domain', host: 'redis.ns', port: 6379 });
  t.equal(s.formatDestination({ type: 'ipv6', host: '::1', port: 80 }), '[::1]:80');
  t.equal(s.formatDestination({ type: 'domain', host: 'a.b', port: 1 }), 'a.b:1');
  t.same(s.decodeAddress(hex('ff 01 7f000001 0050'), 1), { value: { type: 'ipv4', host: '127.0.0.1', port: 80 }, consumed: 7 });
});

t.test('Node errors -> reply codes and messages', async (t) => {
  const e = (code) => Object.assign(new Error(`x ${code}`), { code });
  t.equal(s.replyCodeForError(e('ENOTFOUND')), 4);
  t.equal(s.replyCodeForError(e('EAI_NONAME')), 4);
  t.equal(s.replyCodeForError(e('EHOSTUNREACH')), 4);
  t.equal(s.replyCodeForError(e('ECONNREFUSED')), 5);
  t.equal(s.replyCodeForError(e('ENETUNREACH')), 3);
  t.equal(s.replyCodeForError(e('ETIMEDOUT')), 6);
  t.equal(s.replyCodeForError(e('ECONNRESET')), 1);
  t.equal(s.replyCodeForError(e('EAI_AGAIN')), 1);
  t.equal(s.replyCodeForError(new Error('no code')), 1);
  t.equal(s.replyCodeForError(undefined), 1);
  const agg = new AggregateError([e('ETIMEDOUT'), e('ECONNREFUSED')], 'all failed');
  t.equal(s.replyCodeForError(agg), 5, 'happy-eyeballs AggregateError uses the telling inner code');
  t.equal(s.describeError(e('ENOTFOUND')), 'host not found (ENOTFOUND)');
  t.equal(s.describeError(e('EWEIRD')), 'x EWEIRD');
  t.equal(s.describeError(new Error('plain')), 'plain');
  for (let code = 0; code <= 8; code++) t.notMatch(s.replyMessage(code), /unknown/, `message for ${code}`);
  t.equal(s.replyMessage(5), 'connection refused');
  t.match(s.replyMessage(9), /unknown/);
});

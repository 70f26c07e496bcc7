// The runner's DNS server: queries built by hand, answers checked byte by byte, and Node's own
// c-ares resolver (an independent DNS client) pointed at the server.
import t from 'tap';
import { Resolver } from 'node:dns/promises';
import { answer, startDnsServer } from '../../../../dist/src/dns/server.js';
import { parseQuery, encodeName, addressOfPtrName, TYPE, RCODE } from '../../../../dist/src/dns/message.js';

const table = { 'hello.demo': '10.96.0.20', 'v6only.demo': 'fd00::1:2' };
const fakeResolver = {
  async resolve(name) {
    if (name === 'broken.demo') throw new Error('upstream down');
    return table[name];
  },
  async reverse(address) {
    return address === '10.96.0.20' ? 'hello.demo.svc.cluster.local' : undefined;
  },
  nameOfFakeAddress: () => undefined,
};

function query(name, type, id = 0x1234) {
  const header = Buffer.from([id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(1, 2);
  return Buffer.concat([header, encodeName(name), tail]);
}

const rcode = (msg) => msg.readUInt16BE(2) & 0xf;
const ancount = (msg) => msg.readUInt16BE(6);

t.test('parses a query and keeps the question bytes', async (t) => {
  const q = parseQuery(query('hello.demo', TYPE.A));
  t.equal(q.id, 0x1234);
  t.same(q.question, { name: 'hello.demo', type: TYPE.A, class: 1 });
  t.throws(() => parseQuery(Buffer.from([1, 2, 3])), /shorter than its header/);
});

t.test('A answer carries the address', async (t) => {
  const reply = await answer(fakeResolver, query('hello.demo', TYPE.A));
  t.equal(reply.readUInt16BE(0), 0x1234, 'same id');
  t.equal(rcode(reply), RCODE.NOERROR);
  t.equal(ancount(reply), 1);
  t.same([...reply.subarray(reply.length - 4)], [10, 96, 0, 20]);
});

t.test('unknown name is NXDOMAIN, a failing upstream SERVFAIL, other types NOTIMP', async (t) => {
  t.equal(rcode(await answer(fakeResolver, query('nope.demo', TYPE.A))), RCODE.NXDOMAIN);
  t.equal(rcode(await answer(fakeResolver, query('broken.demo', TYPE.A))), RCODE.SERVFAIL);
  t.equal(rcode(await answer(fakeResolver, query('hello.demo', 16))), RCODE.NOTIMP);
  t.equal(await answer(fakeResolver, Buffer.from('garbage')), undefined, 'garbage gets no answer');
});

t.test('AAAA for an IPv4-only name is an empty NOERROR; IPv6 names answer AAAA', async (t) => {
  const empty = await answer(fakeResolver, query('hello.demo', TYPE.AAAA));
  t.equal(rcode(empty), RCODE.NOERROR);
  t.equal(ancount(empty), 0);
  const v6 = await answer(fakeResolver, query('v6only.demo', TYPE.AAAA));
  t.equal(ancount(v6), 1);
  t.equal(v6.subarray(v6.length - 16).toString('hex'), 'fd000000000000000000000000010002');
});

t.test('PTR names map to addresses', async (t) => {
  t.equal(addressOfPtrName('20.0.96.10.in-addr.arpa'), '10.96.0.20');
  t.equal(addressOfPtrName('1.2.3.in-addr.arpa'), undefined);
  t.equal(addressOfPtrName('1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa'), '0000:0000:0000:0000:0000:0000:0000:0001');
});

t.test('c-ares (node:dns Resolver) gets answers from the server', async (t) => {
  const server = await startDnsServer(fakeResolver);
  t.teardown(() => server.close());
  const resolver = new Resolver({ timeout: 2000, tries: 1 });
  resolver.setServers([`127.0.0.1:${server.address.port}`]);
  t.same(await resolver.resolve4('hello.demo'), ['10.96.0.20']);
  await t.rejects(resolver.resolve4('nope.demo'), { code: 'ENOTFOUND' });
  t.same(await resolver.reverse('10.96.0.20'), ['hello.demo.svc.cluster.local']);
});

t.test('while the inspection page listens, a lookup names the process whose datagram asked', async (t) => {
  const { onInspect, lookupOwner } = await import('../../../../dist/src/inspect/events.js');
  const { spawn } = await import('node:child_process');
  const owners = [];
  const watching = {
    ...fakeResolver,
    async resolve(name) {
      owners.push(await lookupOwner.getStore());
      return fakeResolver.resolve(name);
    },
  };
  const stop = onInspect(() => {});
  t.teardown(stop);
  const server = await startDnsServer(watching);
  t.teardown(() => server.close());
  // a child of this process (as the program is a child of kinject) sends one query from its own UDP socket
  const script = `const s=require('dgram').createSocket('udp4');s.on('message',()=>process.exit(0));s.send(Buffer.from(process.argv[1],'hex'),${server.address.port},'127.0.0.1');setTimeout(()=>process.exit(1),5000)`;
  const child = spawn(process.execPath, ['-e', script, query('hello.demo', TYPE.A).toString('hex')], { stdio: 'ignore' });
  const code = await new Promise((r) => child.once('exit', r));
  t.equal(code, 0, 'the child got its answer');
  t.equal(owners.length, 1);
  t.equal(owners[0]?.pid, child.pid, 'the lookup ran for the child');
  t.match(owners[0]?.command, /dgram/, 'with its command line');
});

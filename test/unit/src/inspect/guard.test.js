// Which requests the inspection server refuses (src/inspect/guard.ts): Host must be localhost or
// 127.0.0.1 (with its port or none), Origin, when sent, this page's own; DNS rebinding names fail.
import t from 'tap';
import { refusal } from '../../../../dist/src/inspect/guard.js';

const ask = (headers) => refusal({ headers }, 4040);

t.test('local Hosts and Origins pass', async (t) => {
  for (const host of ['localhost', 'localhost:4040', '127.0.0.1:4040', '127.0.0.1', 'LOCALHOST:4040']) t.equal(ask({ host }), undefined, host);
  t.equal(ask({ host: '127.0.0.1:4040', origin: 'http://127.0.0.1:4040' }), undefined, 'own origin');
  t.equal(ask({ host: 'localhost:4040', origin: 'http://localhost:4040' }), undefined, 'own origin by name');
});

t.test('anything else is refused', async (t) => {
  for (const host of ['evil.example', 'evil.example:4040', 'localhost.evil.example:4040', '127.0.0.1:4041', '127.0.0.2:4040', '[::1]:4040', '', undefined]) {
    t.match(ask({ host }), /Host .* is not localhost:4040/, String(host));
  }
  t.match(ask({ host: 'localhost:4040', origin: 'http://evil.example' }), /Origin "http:\/\/evil.example"/, 'foreign origin');
  t.match(ask({ host: 'localhost:4040', origin: 'null' }), /Origin/, 'opaque origin');
  t.match(ask({ host: 'localhost:4040', origin: 'http://localhost:4041' }), /Origin/, 'another port');
});

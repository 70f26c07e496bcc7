// The in-cluster clients of test/e2e/run-intercept.test.js (run in the toolbox pod by kubectl
// exec); each prints one JSON line:
//   get URL [NAME=VALUE]               one request on a new connection: {status, body}
//   alternate URL NAME=VALUE N         N requests on ONE keep-alive connection, every other one with
//                                      the header: {bodies, sockets} (sockets: connections used)
//   h2 URL [NAME=VALUE]                two h2c streams on one session, the first with the header
//   streams URL SPEC...                one h2c stream per SPEC (NAME=VALUE, or "none") on ONE session:
//                                      {bodies}
//   ws URL [NAME=VALUE]                a WebSocket: upgrade, one message, its echo: {status, echo}
//   load URL MS MODE STOPFILE          requests without any header for at most MS ms, until STOPFILE
//                                      exists; MODE "new" (a new connection each) or "keepalive" (one
//                                      at a time on a keep-alive pool): {ok, failed, errors, bodies}
//   probe URL NAME=VALUE MS STOPFILE   a request with the header on a new connection every 250 ms, each
//                                      on its own (bounded by 15 s), for at most MS ms, until STOPFILE
//                                      exists: {samples: [[start, end, outcome], ...]} (epoch ms; outcome:
//                                      the body's first word for a 200, else "STATUS body" or "error MESSAGE")
const http = require('node:http');
const http2 = require('node:http2');
const crypto = require('node:crypto');
const [mode, url, a, b, c] = process.argv.slice(2);
const fs = require('node:fs');
const header = (s) => (s?.includes('=') ? { [s.split('=')[0]]: s.slice(s.indexOf('=') + 1) } : {});
const done = (v) => {
  process.stdout.write(`${JSON.stringify(v)}\n`);
  process.exit(0);
};
const get = (u, headers, agent, timeout = 10_000) =>
  new Promise((resolve, reject) => {
    const req = http.get(u, { headers, agent, timeout }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, socket: req.socket }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
(async () => {
  if (mode === 'get') {
    const r = await get(url, header(a), false);
    return done({ status: r.status, body: r.body });
  }
  if (mode === 'alternate') {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const bodies = [];
    const sockets = new Set();
    for (let i = 0; i < Number(b); i++) {
      const r = await get(url, i % 2 === 0 ? header(a) : {}, agent);
      bodies.push(r.body.trim());
      sockets.add(r.socket);
    }
    return done({ bodies, sockets: sockets.size });
  }
  if (mode === 'h2') {
    const s = http2.connect(url);
    const one = (headers) =>
      new Promise((resolve, reject) => {
        const st = s.request({ ':path': '/h2', ...headers });
        let body = '';
        st.on('data', (d) => (body += d));
        st.on('end', () => resolve(body.trim()));
        st.on('error', reject);
        st.end();
      });
    const bodies = [await one(header(a)), await one({})];
    s.close();
    return done({ bodies });
  }
  if (mode === 'streams') {
    const s = http2.connect(url);
    const one = (headers) =>
      new Promise((resolve, reject) => {
        const st = s.request({ ':path': '/h2', ...headers });
        let body = '';
        st.setTimeout(10_000, () => st.close(http2.constants.NGHTTP2_CANCEL));
        st.on('data', (d) => (body += d));
        st.on('end', () => resolve(body.trim()));
        st.on('error', reject);
        st.end();
      });
    const specs = process.argv.slice(4);
    const bodies = [];
    for (const spec of specs) bodies.push(await one(header(spec)));
    s.close();
    return done({ bodies });
  }
  if (mode === 'ws') {
    const u = new URL(url);
    const sock = require('node:net').connect(Number(u.port || 80), u.hostname);
    const key = crypto.randomBytes(16).toString('base64');
    const h = Object.entries(header(a))
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    sock.write(
      `GET /ws HTTP/1.1\r\nhost: ${u.host}\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-key: ${key}\r\nsec-websocket-version: 13\r\n${h}\r\n`,
    );
    let buf = Buffer.alloc(0);
    let status;
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      if (status === undefined) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        status = Number(buf.toString('latin1', 9, 12));
        buf = buf.subarray(end + 4);
        const mask = crypto.randomBytes(4);
        const msg = Buffer.from('hello');
        sock.write(Buffer.concat([Buffer.from([0x81, 0x80 | msg.length]), mask, Buffer.from(msg.map((x, i) => x ^ mask[i % 4]))]));
      }
      if (buf.length >= 2 && buf.length >= 2 + buf[1]) {
        done({ status, echo: buf.subarray(2, 2 + buf[1]).toString() });
      }
    });
    sock.on('error', (err) => done({ error: err.message }));
    setTimeout(() => done({ status, error: 'timeout' }), 10_000);
    return;
  }
  if (mode === 'load') {
    const until = Date.now() + Number(a);
    const agent = b === 'keepalive' ? new http.Agent({ keepAlive: true, maxSockets: 1 }) : false;
    let ok = 0;
    let failed = 0;
    const errors = [];
    const bodies = {};
    while (Date.now() < until && !(c && fs.existsSync(c))) {
      try {
        const r = await get(url, {}, agent);
        if (r.status === 200) ok++;
        else {
          failed++;
          errors.push(`${new Date().toISOString().slice(11, 23)} ${r.status} ${r.body.trim()}`);
        }
        const who = r.body.split(' ')[0];
        bodies[who] = (bodies[who] || 0) + 1;
      } catch (err) {
        failed++;
        errors.push(`${new Date().toISOString().slice(11, 23)} ${err.message}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    return done({ ok, failed, errors: errors.slice(0, 10), bodies });
  }
  if (mode === 'probe') {
    const until = Date.now() + Number(b);
    const samples = [];
    const pending = new Set();
    while (Date.now() < until && !(c && fs.existsSync(c)) && samples.length + pending.size < 2000) {
      const start = Date.now();
      const one = get(url, header(a), false, 15_000).then(
        (r) => (r.status === 200 ? r.body.split(' ')[0] : `${r.status} ${r.body.trim().slice(0, 200)}`),
        (err) => `error ${err.message}`,
      );
      pending.add(one);
      one.then((outcome) => {
        pending.delete(one);
        samples.push([start, Date.now(), outcome]);
      });
      await new Promise((r) => setTimeout(r, 250));
    }
    await Promise.all(pending);
    await new Promise((r) => setImmediate(r));
    samples.sort((x, y) => x[0] - y[0]);
    return done({ samples });
  }
  done({ error: `unknown mode ${mode}` });
})().catch((err) => done({ error: err.message }));

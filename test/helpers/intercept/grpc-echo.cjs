// A gRPC echo service without .proto files (raw bytes in and out) for the intercept e2e tests, on
// @grpc/grpc-js. In the cluster it runs as one esbuild bundle from the scripts ConfigMap (the
// toolbox image has node but no node_modules); on the laptop from the repository's node_modules.
//   serve(name, port)                       answers Say(bytes) with "NAME <pod or host> <bytes>"
//   node grpc-echo.cjs call HOST:PORT [NAME=VALUE]   one call on a new channel, with the header as
//                                           metadata: prints {reply} or {error, code}
const grpc = require('@grpc/grpc-js');

const SAY = {
  say: {
    path: '/kinject.test.Echo/Say',
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  },
};

function serve(name, port) {
  const who = `${name} ${process.env.POD_NAME || 'local'}`;
  const server = new grpc.Server();
  server.addService(SAY, { say: (call, cb) => cb(null, Buffer.from(`${who} ${call.request}`)) });
  return new Promise((resolve, reject) =>
    server.bindAsync(`0.0.0.0:${port}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve(server))),
  );
}

function call(target, header) {
  const Client = grpc.makeGenericClientConstructor(SAY, 'Echo');
  const client = new Client(target, grpc.credentials.createInsecure());
  const meta = new grpc.Metadata();
  if (header?.includes('=')) meta.set(header.slice(0, header.indexOf('=')), header.slice(header.indexOf('=') + 1));
  return new Promise((resolve) =>
    client.say(Buffer.from('hello'), meta, { deadline: Date.now() + 15_000 }, (err, res) => {
      client.close();
      resolve(err ? { error: err.details, code: err.code } : { reply: res.toString() });
    }),
  );
}

module.exports = { serve, call };

if (require.main === module) {
  const [mode, a, b] = process.argv.slice(2);
  const out = (v) => {
    process.stdout.write(`${JSON.stringify(v)}\n`);
    process.exit(0);
  };
  if (mode === 'call') call(a, b).then(out);
  else if (mode === 'serve') serve(a, Number(b)).then(() => console.log(`${a} grpc listening on ${b}`));
  else out({ error: `unknown mode ${mode}` });
}

// The payload of kinject's ENV command (0xF2): the pod server's process environment as a
// 4-byte big-endian length followed by that many bytes of JSON (an object of strings). The
// client (src/kube/env.ts) filters out what the proxy image and runtime add.

export function envPayload(env: NodeJS.ProcessEnv): Buffer {
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) {
    if (typeof value === 'string') strings[key] = value;
  }
  const json = Buffer.from(JSON.stringify(strings), 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length, 0);
  return Buffer.concat([length, json]);
}

// Helpers for wiring the SFTP server into the pod's entry point: the export list travels as JSON
// (`[{"path":"/etc/web","readOnly":true}, ...]`), the keys as files from the session's Secret.

import { readFileSync } from 'node:fs';
import type { ExportSpec } from './exports.js';
import type { SftpServerOptions } from './server.js';

/** Parses and checks the JSON export list. Throws with a clear message on anything else. */
export function parseExports(json: string): ExportSpec[] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (err) {
    throw new Error(`the SFTP export list is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(value)) throw new Error('the SFTP export list must be a JSON array');
  return value.map((item, i) => {
    const e = item as { path?: unknown; readOnly?: unknown };
    if (!e || typeof e.path !== 'string' || !e.path.startsWith('/')) throw new Error(`SFTP export #${i}: "path" must be an absolute path`);
    if (e.readOnly !== undefined && typeof e.readOnly !== 'boolean') throw new Error(`SFTP export #${i}: "readOnly" must be true or false`);
    return { path: e.path, readOnly: e.readOnly === true };
  });
}

/** Options for startSftpServer() from files (host private key, authorized client public key). */
export function sftpOptionsFromFiles(o: {
  host: string;
  port: number;
  hostKeyFile: string;
  authorizedKeyFile: string;
  exportsJson: string;
  log?: (line: string) => void;
}): SftpServerOptions {
  return {
    host: o.host,
    port: o.port,
    hostKey: readFileSync(o.hostKeyFile, 'utf8'),
    authorizedKey: readFileSync(o.authorizedKeyFile, 'utf8'),
    exports: parseExports(o.exportsJson),
    log: o.log,
  };
}

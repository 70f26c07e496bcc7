// The pod side of kinject's volume mounts: an SFTP server over the workload's volume paths.
export { startSftpServer, SFTP_USER, type SftpServer, type SftpServerOptions } from './server.js';
export { generateSessionKeys, knownHostsLine, HOST_KEY_ALIAS, type SessionKeys } from '../../protocol/ssh.js';
export type { ExportSpec } from './exports.js';
export { parseExports, sftpOptionsFromFiles } from './config.js';

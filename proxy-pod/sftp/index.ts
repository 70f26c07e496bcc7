// The pod side of kinject's volume mounts: an SFTP server over the workload's volume paths.
export { startSftpServer, type SftpServer, type SftpServerOptions } from './server.js';
export { generateSessionKeys, knownHostsLine, HOST_KEY_ALIAS, SFTP_USER, type SessionKeys } from '../../protocol/ssh.js';
export type { ExportSpec } from './exports.js';
export { parseExports, sftpOptionsFromFiles } from './config.js';

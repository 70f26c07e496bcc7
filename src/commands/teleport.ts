// `kinject teleport`: every Service of the namespaces reachable by name from the whole machine
// (src/teleport/). Without --foreground it starts the session in the background and returns once
// the names answer (teleport/background.ts); --clean ends this user's teleport sessions instead
// (under sudo: the invoking user's, as them, after root removed dead keepers' hosts blocks).
// Under sudo the session runs as the invoking user and a root keeper writes the hosts file
// (teleport/hosts-keeper.ts).
import { usageError } from '../errors.js';
import { createLogger } from '../log.js';
import { seconds } from './options.js';
import type { TeleportOptions } from '../teleport/session.js';

export async function teleportCommand(options: TeleportOptions, argv: string[]): Promise<number> {
  if (options.clean) {
    const given = ['namespace', 'target', 'envFile', 'foreground'].filter(
      (k) => options[k as keyof TeleportOptions] !== undefined && options[k as keyof TeleportOptions] !== false,
    );
    if (given.length) throw usageError('--clean ends the teleport sessions of this user: it takes no other flag');
    const { asSudoInvoker } = await import('./session.js');
    const asInvoker = await asSudoInvoker(true); // under sudo the sessions are the invoking user's
    if (asInvoker !== undefined) return asInvoker;
    const { closeSessionsCommand } = await import('./session-local.js');
    return closeSessionsCommand((s) => s.record.kind === 'teleport', 'teleport sessions');
  }
  const timeoutSeconds = seconds(options.timeout, '--timeout');
  if (!options.foreground) {
    const { startInBackground } = await import('../teleport/background.js');
    return startInBackground(argv, timeoutSeconds);
  }
  const { reportReady } = await import('../teleport/background.js');
  const log = createLogger(Boolean(options.verbose));
  const ready = (table: string, id: string, inspect?: string) => {
    if (process.send) reportReady(id, table, inspect);
    else {
      process.stdout.write(table);
      log.info(`teleport session ${id} is up; Ctrl-C ends it`);
    }
  };
  const { sudoInvoker } = await import('../teleport/sudo.js');
  const invoker = sudoInvoker();
  if (invoker) {
    // under sudo only the hosts file is written as root: the session runs as the invoking user
    const { runHostsKeeper } = await import('../teleport/hosts-keeper.js');
    const { hostsFilePath } = await import('../teleport/hosts-file.js');
    return runHostsKeeper(argv, invoker, options, options.hosts ? hostsFilePath() : undefined, log, ready);
  }
  const { runTeleport } = await import('../teleport/session.js');
  return runTeleport(options, timeoutSeconds, log, ready);
}

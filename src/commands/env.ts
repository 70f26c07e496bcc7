// `kinject env --target WORKLOAD`: prints the workload's env as its pod sees it (in one of the
// env-file syntaxes, see src/env-file/), by starting a proxy pod from its template, reading the
// env, and removing the pod again.
import { formatEnvFile, skippedWarning, type EnvSyntax } from '../env-file/index.js';
import { usageError } from '../errors.js';
import { createLogger } from '../log.js';
import { CleanupStack } from '../child/cleanup-stack.js';
import { guardCleanupFromSignals, onForwardedSignals } from '../child/signals.js';
import { openClusterSession } from '../session/cluster-session.js';
import { seconds, type TargetFlags } from './options.js';

export interface EnvOptions extends TargetFlags {
  format: EnvSyntax;
  verbose: boolean;
}

export async function envCommand(options: EnvOptions): Promise<void> {
  if (!options.target) throw usageError('kinject env needs --target WORKLOAD (e.g. --target deployment/web)');
  const log = createLogger(options.verbose);
  const cleanup = new CleanupStack();
  const abort = new AbortController();
  const signalGuard = guardCleanupFromSignals(log.info);
  const stopSignals = onForwardedSignals(() => abort.abort(new Error('interrupted')));
  try {
    const timeoutSeconds = seconds(options.timeout, '--timeout');
    const { env } = await openClusterSession({ ...options, timeoutSeconds }, cleanup, log, abort.signal);
    const written = formatEnvFile(env ?? {}, options.format);
    process.stdout.write(written.text);
    const warning = skippedWarning(written, options.format, 'kinject env', '--format json');
    if (warning) log.warn(warning);
  } finally {
    signalGuard.cleaning();
    stopSignals();
    await cleanup.unwind(log.warn);
  }
}

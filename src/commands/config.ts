// `kinject config [run's flags]`: the settings `kinject run` would use with those flags, one a
// line, and where each comes from: a flag, the project file (FILE:LINE), kinject's default, or the
// kubeconfig (context and namespace when nothing else sets them). The settings listed are the
// project file's (schema/kinject.schema.json), so the two cannot drift apart. Reads files only, no network.
import type { Command } from 'commander';
import { attributeOf } from '../config/apply.js';
import { findProjectFile, PROJECT_FILE_NAMES, projectKeys } from '../config/project-file.js';
import type { KubeFlags } from './options.js';

export async function configCommand(command: Command, options: Record<string, unknown> & KubeFlags): Promise<void> {
  const file = command.parent?.opts().projectFile === false ? undefined : findProjectFile();
  const project = file ? (await import('../config/project-file.js')).loadProjectFile(file) : undefined;
  const rows: [string, string, string][] = [];
  for (const key of projectKeys()) {
    const attr = attributeOf(key);
    const value = options[attr];
    const source = command.getOptionValueSource(attr);
    const from =
      source === 'cli'
        ? flagOf(command, attr)
        : source === 'config'
          ? `${project!.path}:${project!.settings.get(key)!.line}`
          : source === 'default'
            ? 'default'
            : 'not set';
    rows.push([key, value === undefined ? '-' : value === false ? 'false (no)' : String(value), from]);
  }
  await fillFromKubeconfig(rows, options);
  const width = Math.max(...rows.map((r) => r[1].length));
  const lines = [`project file    ${file ?? `none (no ${PROJECT_FILE_NAMES.join(', ')} here or in a parent)`}`];
  for (const [key, value, from] of rows) lines.push(`${key.padEnd(15)} ${value.padEnd(width)}  (${from})`);
  process.stdout.write(lines.join('\n') + '\n');
}

function flagOf(command: Command, attr: string): string {
  const option = command.options.find((o) => o.attributeName() === attr && !o.negate) ?? command.options.find((o) => o.attributeName() === attr);
  return option?.long ?? attr;
}

/** context and namespace that no flag or file sets come from the kubeconfig, as a run would take them */
async function fillFromKubeconfig(rows: [string, string, string][], options: KubeFlags): Promise<void> {
  const context = rows.find((r) => r[0] === 'context')!;
  const namespace = rows.find((r) => r[0] === 'namespace')!;
  if (context[1] !== '-' && namespace[1] !== '-') return;
  try {
    const { loadKubeAccess } = await import('../kube/config.js');
    const access = loadKubeAccess(options);
    const where = access.sources.join(':');
    if (context[1] === '-') [context[1], context[2]] = [access.context, `kubeconfig ${where}: current context`];
    if (namespace[1] === '-') [namespace[1], namespace[2]] = [access.namespace, `kubeconfig ${where}: context ${access.context}`];
  } catch (err) {
    if (context[1] === '-') context[2] = `not set; kubeconfig: ${(err as Error).message}`;
  }
}

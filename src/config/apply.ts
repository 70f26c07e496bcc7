// Puts the project file's settings into a command's options where no flag gave them (commander's
// value source "config"), so flags win. With --proxy (no cluster) the cluster settings are left
// out. Keys are the flag names; values become what the flag would have given.
import type { Command } from 'commander';
import type { ProjectFile } from './project-file.js';

const CLUSTER_KEYS = new Set([
  'kubeconfig',
  'context',
  'namespace',
  'target',
  'container',
  'proxy-image',
  'timeout',
  'transport',
  'env-file',
  'env-json',
  'mount',
]);

/** "env-file" -> "envFile", as commander names the option's attribute */
export function attributeOf(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function applyProjectFile(command: Command, project: ProjectFile): void {
  const attrs = new Set(command.options.map((o) => o.attributeName()));
  const proxyGiven = command.getOptionValueSource('proxy') === 'cli';
  for (const [key, { value }] of project.settings) {
    const attr = attributeOf(key);
    if (!attrs.has(attr) || command.getOptionValueSource(attr) === 'cli') continue;
    if (proxyGiven && CLUSTER_KEYS.has(key)) continue;
    if (key === 'mount' && value === true) continue; // the default: mount at the default place
    command.setOptionValueWithSource(attr, flagValue(value), 'config');
  }
}

function flagValue(value: string | number | boolean | string[]): string | boolean {
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'number') return String(value);
  return value;
}

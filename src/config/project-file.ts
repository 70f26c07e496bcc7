// The project file: .kinject.yaml (or .kinject.yml, .kinject.json) in the working directory or the
// nearest parent that has one. Parsed with `yaml` (JSON is YAML too, so both get line numbers) and
// checked against schema/kinject.schema.json with ajv; a bad file is one line naming file, line
// and key. Returns each setting with the line it is on; relative paths are made absolute against
// the file's directory.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isMap, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import { usageError } from '../errors.js';
import { packageRoot } from '../paths.js';

export const PROJECT_FILE_NAMES = ['.kinject.yaml', '.kinject.yml', '.kinject.json'];
/** keys whose value is a path (relative to the file) */
const PATH_KEYS = new Set(['kubeconfig', 'env-file', 'env-json', 'mount']);

export interface ProjectSetting {
  value: string | number | boolean | string[];
  line: number;
}

export interface ProjectFile {
  path: string;
  settings: Map<string, ProjectSetting>;
}

/** The nearest project file from dir upwards, or undefined. Two in one directory is an error. */
export function findProjectFile(dir: string = process.cwd()): string | undefined {
  for (let d = resolve(dir); ; d = dirname(d)) {
    const found = PROJECT_FILE_NAMES.map((n) => join(d, n)).filter((p) => existsSync(p));
    if (found.length > 1) throw usageError(`${found.join(' and ')} both exist: keep one`);
    if (found.length === 1) return found[0];
    if (dirname(d) === d) return undefined;
  }
}

let validate: ReturnType<Ajv['compile']> | undefined;

let schema: { properties: Record<string, unknown> } | undefined;

/** schema/kinject.schema.json, read once */
function readSchema(): { properties: Record<string, unknown> } {
  schema ??= JSON.parse(readFileSync(join(packageRoot, 'schema', 'kinject.schema.json'), 'utf8'));
  return schema!;
}

/** Every setting a project file may hold, in the schema's order (`kinject config` lists them all). */
export function projectKeys(): string[] {
  return Object.keys(readSchema().properties);
}

export function loadProjectFile(path: string): ProjectFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw usageError(`cannot read ${path}: ${(err as Error).message}`);
  }
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false });
  const lineAt = (offset: number | undefined) => (offset === undefined ? 1 : lines.linePos(offset).line);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw usageError(`${path}:${lineAt(e.pos[0])}: ${e.message.split('\n')[0]}`);
  }
  const data: unknown = doc.toJS() ?? {};
  validate ??= new Ajv({ allErrors: false, strict: true, allowUnionTypes: true }).compile(readSchema());
  if (!validate(data)) throw usageError(describe(path, doc, lineAt, validate.errors![0]));

  const settings = new Map<string, ProjectSetting>();
  const root = doc.contents;
  for (const [key, value] of Object.entries(data as Record<string, ProjectSetting['value']>)) {
    const pair = isMap(root) ? root.items.find((p) => isScalar(p.key) && p.key.value === key) : undefined;
    const line = lineAt(isScalar(pair?.key) ? pair.key.range?.[0] : undefined);
    const v = PATH_KEYS.has(key) && typeof value === 'string' ? resolve(dirname(path), value) : value;
    settings.set(key, { value: v, line });
  }
  return { path, settings };
}

/** "FILE:LINE: key "x": what is wrong" for ajv's first error */
function describe(path: string, doc: Document, lineAt: (o: number | undefined) => number, e: ErrorObject): string {
  const keys = e.instancePath
    .split('/')
    .slice(1)
    .map((k) => (/^\d+$/.test(k) ? Number(k) : k.replace(/~1/g, '/').replace(/~0/g, '~')));
  if (e.keyword === 'additionalProperties') {
    const extra = String(e.params.additionalProperty);
    const parent = keys.length ? doc.getIn(keys, true) : doc.contents;
    const pair = isMap(parent) ? parent.items.find((p) => isScalar(p.key) && p.key.value === extra) : undefined;
    const allowed = Object.keys((validate!.schema as { properties: object }).properties).join(', ');
    return `${path}:${lineAt(isScalar(pair?.key) ? pair.key.range?.[0] : undefined)}: unknown key "${extra}" (known: ${allowed})`;
  }
  if (keys.length === 0) return `${path}:1: the file must be a mapping of settings (key: value), not ${describeValue(doc.toJS())}`;
  const node = doc.getIn(keys, true) as { range?: [number, number, number] } | undefined;
  const name = keys.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
  const what =
    e.keyword === 'enum'
      ? `one of ${(e.params.allowedValues as unknown[]).join(', ')}`
      : e.keyword === 'type'
        ? `a ${String(e.params.type).split(',').join(' or a ')}`
        : e.keyword === 'minLength'
          ? 'a non-empty string'
          : e.keyword === 'exclusiveMinimum'
            ? `a number > ${String(e.params.limit)}`
            : (e.message ?? 'valid').replace(/^must (be )?/, '');
  return `${path}:${lineAt(node?.range?.[0])}: key "${name}" must be ${what}`;
}

function describeValue(v: unknown): string {
  return Array.isArray(v) ? 'a list' : v === null ? 'empty' : `a ${typeof v}`;
}

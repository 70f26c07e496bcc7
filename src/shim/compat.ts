// Can this machine's loader take the package's prebuilt shim? It is built against glibc 2.34+
// (Debian 12, Ubuntu 22.04, RHEL 9); on musl or an older glibc the loader would refuse it and the
// child would run without kinject. The install script then builds from source, but npm 11 runs
// install scripts only when allowed, so `kinject run` checks too.
const MIN_GLIBC = [2, 34];

/** undefined when the prebuilt fits, else why not (one line, with the fix) */
export function prebuiltShimProblem(glibc: string | null = glibcVersion()): string | undefined {
  const fix =
    'install kinject with its install script allowed so it builds the shim from source (`npm install -g --allow-scripts=kinject kinject`, needs gcc, make and python3)';
  if (!glibc) return `the prebuilt shim needs glibc and this system has none (musl?): ${fix}`;
  const [major, minor] = glibc.split('.').map(Number);
  if (major < MIN_GLIBC[0] || (major === MIN_GLIBC[0] && minor < MIN_GLIBC[1])) {
    return `the prebuilt shim needs glibc >= ${MIN_GLIBC.join('.')} and this system has ${glibc}: ${fix}`;
  }
  return undefined;
}

function glibcVersion(): string | null {
  const header = process.report.getReport() as { header?: { glibcVersionRuntime?: string } };
  return header.header?.glibcVersionRuntime ?? null; // null: not glibc
}

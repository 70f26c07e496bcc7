// The names of the env-file syntaxes (--env-syntax, `kinject env --format`), on their own so the
// command line can list them without loading the writers.
export const ENV_SYNTAXES = ['dotenv', 'compose', 'sh', 'json'] as const;
export type EnvSyntax = (typeof ENV_SYNTAXES)[number];

// Values that env-file writers get wrong: quotes of all three kinds, $ and ${}, backslashes, #,
// =, spaces at the ends, unicode, empty, CR, multi-line JSON; keys with . and -. TRICKY_ENV is
// what every test writes and reads back; DOTENV_UNCARRIABLE are values no npm dotenv quoting
// carries (they must become comments, named in the warning); randomValues() makes more.

export const TRICKY_ENV = {
  SINGLE_QUOTE: "it's",
  DOUBLE_QUOTE: 'say "hi"',
  BACKTICK: 'run `date` now',
  SINGLE_AND_DOUBLE: `it's "quoted"`,
  SINGLE_AND_BACKTICK: "it's `cmd`",
  DOUBLE_AND_BACKTICK: 'say "hi" `cmd`',
  JSON_ONE_LINE: '{"a": "b c", "q": "it\'s"}',
  JSON_MULTI_LINE: '{\n  "a": "b c",\n  "q": "it\'s",\n  "path": "C:\\\\dir"\n}\n',
  DOLLAR: 'cost $5 and $HOME',
  DOLLAR_BRACES: '${HOME} and ${NOPE:-default} and $$',
  BACKSLASHES: 'C:\\path\\to\\n-not-a-newline \\r \\t',
  ENDS_IN_BACKSLASH: 'C:\\dir\\',
  DOUBLE_BACKSLASH: 'a\\\\b',
  ESCAPED_QUOTE: 'a\\"b\\\'c',
  HASH: 'value # not a comment',
  HASH_FIRST: '#not-a-comment',
  EQUALS: 'a=b=c',
  SPACES: '  leading and trailing  ',
  TRAILING_SPACE: 'x ',
  UNICODE: 'héllo wörld ✓ 日本語 🚀 \u00a0nbsp \u2028ls',
  EMPTY: '',
  TAB: 'a\tb\t',
  CRLF: 'line one\r\nline two',
  MULTI_LINE: 'line one\nline two\n  indented\n',
  ALL_QUOTES_MULTI_LINE: 'it\'s "a" `b`\nline two',
  CR_AND_DOUBLE_QUOTE: 'say "hi"\r\n',
  ENDS_IN_BACKSLASH_WITH_QUOTE: 'say "hi"\nC:\\',
  LOOKS_LIKE_A_LINE: 'x\nOTHER=injected\n# comment',
  'dotted.key': 'dots are fine in dotenv and compose',
  'dash-key': 'dashes too',
};

/** Values that no npm dotenv quoting (nor unquoted) reads back exactly. */
export const DOTENV_UNCARRIABLE = {
  ALL_QUOTES_HASH: 'it\'s "a" `b` # c',
  ALL_QUOTES_BACKSLASH_N: 'it\'s "a" `b`\nC:\\new',
  CR_QUOTE_HASH: 'say "hi" # x\r\n',
  QUOTE_BACKTICK_ENDS_IN_BACKSLASH: "it's `b`\nC:\\",
};

/** `n` random values (seeded, so a failure repeats) from the characters readers treat specially. */
export function randomValues(n, seed = 12) {
  const alphabet = ["'", '"', '`', '\\', '$', '{', '}', '#', '=', ' ', '\t', '\n', '\r', 'a', 'n', 'r', 'Z', 'é', '✓', '\u2028', ':', '-'];
  let state = seed >>> 0;
  const next = () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
  const env = {};
  for (let i = 0; i < n; i++) {
    const len = Math.floor(next() * 10);
    let v = '';
    for (let j = 0; j < len; j++) v += alphabet[Math.floor(next() * alphabet.length)];
    env[`R${i}`] = v;
  }
  return env;
}

// The result shape of every incremental parser: a value plus how many bytes it used, or null
// when the buffer does not yet hold a complete message (read more and call again).

export type Parsed<T> = { value: T; consumed: number } | null;

/** A parser takes the bytes received so far (starting at a message boundary). */
export type Parser<T> = (buf: Buffer) => Parsed<T>;

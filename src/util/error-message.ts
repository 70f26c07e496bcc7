// The text of a thrown value, whatever was thrown: an Error's message (or stack), else String(value).
export function errorMessage(err: unknown, withStack = false): string {
  if (err instanceof Error) return withStack ? (err.stack ?? err.message) : err.message;
  return String(err);
}

/**
 * Text that PostgreSQL can store and a log line can carry: well-formed UTF-16 (lone surrogates
 * replaced), no NUL, at most `max` characters (cut at a code-point boundary).
 */
export function storableText(s: string, max: number): string {
  const clean = s.toWellFormed().replaceAll('\u0000', '\uFFFD');
  if (clean.length <= max) return clean;
  return clean.slice(0, max).toWellFormed();
}

/** A short, storable description of an error (database errors quote whole statements). */
export function errorSummary(err: unknown, max = 300): string {
  const e = err as { message?: unknown; code?: unknown };
  const message = typeof e?.message === 'string' ? e.message : String(err);
  // pg errors repeat the SQL before " - "; keep the part that says what went wrong.
  const tail = message.includes(' - ') ? message.slice(message.lastIndexOf(' - ') + 3) : message;
  const code = typeof e?.code === 'string' ? ` [${e.code}]` : '';
  return storableText(tail, max) + code;
}

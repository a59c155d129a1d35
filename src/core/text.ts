/**
 * Text that PostgreSQL can store and a log line can carry: well-formed UTF-16 (lone surrogates
 * become U+FFFD), no NUL, at most `max` characters, cut at a code-point boundary with `…`.
 */
export function storableText(s: string, max: number): string {
  const clean = String(s).toWellFormed().replaceAll('\u0000', '');
  const limit = Math.max(0, Math.floor(max));
  if (clean.length <= limit) return clean;
  if (limit === 0) return '';
  let cut = clean.slice(0, limit - 1);
  const last = cut.charCodeAt(cut.length - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut = cut.slice(0, -1); // half of a pair
  return `${cut}…`;
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

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Bytes from a broker as text. Bytes that are not UTF-8 (Latin-1, UTF-16, compressed) are still
 * turned into text, with replacement characters, for the record, and `problem` says why the
 * message cannot be read as sent.
 */
export function decodeUtf8(bytes: Uint8Array, what = 'body'): { text: string; problem?: string } {
  try {
    return { text: strictUtf8.decode(bytes) };
  } catch {
    const text = Buffer.from(bytes).toString('utf8');
    const at = text.indexOf('\ufffd');
    return { text, problem: `${what} is not valid UTF-8 (first bad byte near character ${at})` };
  }
}

/**
 * Errors say what the caller should do: a retryable error may succeed later (429, 5xx, network,
 * timeouts) and carries a hint of when; a terminal one never will (validation, other 4xx) and
 * must not be retried.
 */
export class RetryableError extends Error {
  readonly kind = 'retryable' as const;
  readonly retryAfterMs: number | undefined;
  readonly throttled: boolean;
  readonly status: number | undefined;
  constructor(
    message: string,
    opts: { retryAfterMs?: number; throttled?: boolean; status?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.name = 'RetryableError';
    this.retryAfterMs = opts.retryAfterMs;
    this.throttled = opts.throttled ?? false;
    this.status = opts.status;
  }
}

export class TerminalError extends Error {
  readonly kind = 'terminal' as const;
  readonly code: string;
  readonly status: number | undefined;
  constructor(message: string, opts: { code?: string; status?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'TerminalError';
    this.code = opts.code ?? 'TERMINAL';
    this.status = opts.status;
  }
}

export type ClassifiedError = RetryableError | TerminalError;

/** Converts anything thrown at a boundary into one of the two kinds. Unknown throws are retryable. */
export function classify(err: unknown): ClassifiedError {
  if (err instanceof RetryableError || err instanceof TerminalError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new RetryableError(message, { cause: err });
}

/** A plain, JSON-safe description of a failure, as machines see it (they import only xstate). */
export interface FailureInfo {
  kind: 'retryable' | 'terminal';
  message: string;
  retryAfterMs?: number;
  throttled?: boolean;
  status?: number;
}

export function toFailureInfo(err: unknown): FailureInfo {
  const e = classify(err);
  const info: FailureInfo = { kind: e.kind, message: e.message };
  if (e.status !== undefined) info.status = e.status;
  if (e instanceof RetryableError) {
    if (e.retryAfterMs !== undefined) info.retryAfterMs = e.retryAfterMs;
    if (e.throttled) info.throttled = true;
  }
  return info;
}

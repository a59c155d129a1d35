/**
 * Bearer tokens for PartnerConnect. How CliQ mints tokens is not public (reference §3.1: a JWT
 * from the account manager, 24 h `iat→exp` in a public sample), so the client only asks a
 * TokenProvider: a static token as issued, or a minter the deployment supplies once the login
 * call is known.
 */
import type { Clock } from '../../core/clock.js';
import { systemClock } from '../../core/clock.js';
import { classify, RetryableError } from '../../core/errors.js';

export interface TokenProvider {
  /** The bearer token to send now. */
  token(): Promise<string>;
  /**
   * The server answered 401 to `token`: forget it, so the next `token()` mints (or re-reads) a
   * fresh one. A provider that cannot mint keeps returning the same value.
   */
  invalidate(token: string): void;
}

export interface MintedToken {
  accessToken: string;
  /** Epoch ms. */
  expiresAt: number;
}

/** Mints a new token (a login call). Throw TerminalError for rejected credentials. */
export type TokenMinter = () => MintedToken | Promise<MintedToken>;

/** A static bearer token; a function is read at every call, so a replaced token is picked up. */
export function staticToken(value: string | (() => string)): TokenProvider {
  const read = typeof value === 'function' ? value : () => value;
  return {
    token: async () => read(),
    invalidate: () => {},
  };
}

export interface MintingTokenOptions {
  clock?: Clock;
  /** Mint a new token this long before `expiresAt`. Default 60 s. */
  earlyRefreshMs?: number;
}

/** Caches the minted token until shortly before it expires; concurrent callers share one mint. */
export function mintingTokenProvider(mint: TokenMinter, opts: MintingTokenOptions = {}): TokenProvider {
  const clock = opts.clock ?? systemClock;
  const early = opts.earlyRefreshMs ?? 60_000;
  let cached: MintedToken | null = null;
  let minting: Promise<string> | null = null;

  async function fresh(): Promise<string> {
    let t: MintedToken;
    try {
      t = await mint();
    } catch (err) {
      throw classify(err);
    }
    if (typeof t?.accessToken !== 'string' || t.accessToken === '' || !(t.expiresAt > clock.now())) {
      throw new RetryableError('tatacliq: the token minter returned no token or an expired one');
    }
    cached = t;
    return t.accessToken;
  }

  return {
    token: async () => {
      if (cached && clock.now() < cached.expiresAt - early) return cached.accessToken;
      if (!minting) {
        minting = fresh().finally(() => {
          minting = null;
        });
      }
      return minting;
    },
    invalidate: (token) => {
      if (cached?.accessToken === token) cached = null;
    },
  };
}

/** What `TataCliqClientOptions.token` accepts. */
export type TokenSource = string | TokenProvider | TokenMinter;

export function toTokenProvider(source: TokenSource, clock?: Clock): TokenProvider {
  if (typeof source === 'string') return staticToken(source);
  if (typeof source === 'function') return mintingTokenProvider(source, { clock });
  return source;
}

import { type DestinationStream, type Logger, pino } from 'pino';

/**
 * The one pino root. Tokens, secrets and buyer details are redacted wherever they appear under
 * these paths; untrusted input is logged under one field (`input`) and never spread.
 */
export const REDACT_PATHS = [
  'accessToken',
  'access_token',
  'refreshToken',
  'refresh_token',
  'clientSecret',
  'client_secret',
  'authorization',
  'password',
  '*.accessToken',
  '*.access_token',
  '*.refreshToken',
  '*.refresh_token',
  '*.clientSecret',
  '*.client_secret',
  '*.authorization',
  '*.password',
  'headers["x-amz-access-token"]',
  '*.headers["x-amz-access-token"]',
  'buyer',
  '*.buyer',
  'shippingAddress',
  '*.shippingAddress',
  'buyerName',
  '*.buyerName',
  'phone',
  '*.phone',
];

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'marketbridge' } },
    destination,
  );
}

export type { Logger };

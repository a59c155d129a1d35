/** Test doubles for the Amazon client (LWA and Listings answers); the generic ones are in fakes.ts. */
import type { CapturedRequest, ScriptedResponse } from './fakes.js';

export const LWA_OK: ScriptedResponse = {
  status: 200,
  body: { access_token: 'Atza|token-1', token_type: 'bearer', expires_in: 3600, refresh_token: 'Atzr|r' },
};

export function isLwa(req: CapturedRequest): boolean {
  return req.url.pathname === '/auth/o2/token';
}

export const ACCEPTED = (sku: string) => ({
  status: 200,
  body: { sku, status: 'ACCEPTED', submissionId: 'sub-1', issues: [] },
  headers: { 'x-amzn-RateLimit-Limit': '5.0', 'x-amzn-RequestId': 'r-1' },
});

/** The HTTP helpers shared by the marketplace clients (src/marketplaces/http.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { encodePathSegment, parseRetryAfter } from '../../src/marketplaces/http.js';
import { REFERENCE_TIMESTAMP } from './fakes.js';

describe('encodePathSegment', () => {
  it('percent-encodes a path segment of dots only', () => {
    assert.equal(encodePathSegment('.'), '%2E');
    assert.equal(encodePathSegment('..'), '%2E%2E');
    assert.equal(encodePathSegment('...'), '%2E%2E%2E');
    assert.equal(encodePathSegment('.a'), '.a');
    assert.equal(encodePathSegment('a/b'), 'a%2Fb');
  });
});

describe('parseRetryAfter', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    assert.equal(parseRetryAfter('2', REFERENCE_TIMESTAMP), 2000);
    assert.equal(parseRetryAfter('2', 0), 2000);
    assert.equal(parseRetryAfter('0.5', 0), 500);
    assert.equal(
      parseRetryAfter(new Date(REFERENCE_TIMESTAMP + 5000).toUTCString(), REFERENCE_TIMESTAMP),
      5000,
    );
  });

  it('is undefined when absent or unparsable', () => {
    assert.equal(parseRetryAfter(null, REFERENCE_TIMESTAMP), undefined);
    assert.equal(parseRetryAfter(undefined, REFERENCE_TIMESTAMP), undefined);
    assert.equal(parseRetryAfter(' ', REFERENCE_TIMESTAMP), undefined);
    assert.equal(parseRetryAfter('soon', REFERENCE_TIMESTAMP), undefined);
  });
});

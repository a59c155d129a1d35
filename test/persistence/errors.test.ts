import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isInfrastructureError } from '../../src/persistence/database.js';

const pgError = (code: string) => Object.assign(new Error(`sqlstate ${code}`), { code });

describe('telling a database that cannot work from one that refuses a message', () => {
  it('counts unreachable, shutting down, out of resources, read-only and schema or rights problems as the database’s', () => {
    for (const code of [
      '08006',
      '57P01',
      '57P03',
      '53100',
      '53300',
      '40001',
      '40P01',
      '25006',
      '42P01',
      '42501',
      '3D000',
    ])
      assert.equal(isInfrastructureError(pgError(code)), true, code);
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT'])
      assert.equal(isInfrastructureError(Object.assign(new Error(code), { code })), true, code);
    assert.equal(isInfrastructureError(new Error('Connection terminated unexpectedly')), true);
  });

  it('counts bad data, constraints, trigger refusals and unknown errors as the message’s', () => {
    for (const code of ['22P05', '22003', '23505', '54000', 'P0001'])
      assert.equal(isInfrastructureError(pgError(code)), false, code);
    assert.equal(isInfrastructureError(new Error('refused by a trigger')), false);
    assert.equal(isInfrastructureError(new TypeError('x is undefined')), false);
    assert.equal(isInfrastructureError(undefined), false);
  });
});

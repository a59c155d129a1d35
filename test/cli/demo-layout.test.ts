import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { expectedLayout } from '../../src/cli/demo-marketplaces.js';

const MAP = { 'STORE-MUM-003': 'LOC-MUM', 'STORE-MUM-007': 'LOC-MUM', 'DC-DEL-01': 'LOC-DEL' };

describe('expectedLayout: where a marketplace with per-location stock should hold it', () => {
  it('puts a total given without locations at the default location, and nothing elsewhere', () => {
    assert.deepEqual(expectedLayout({ quantity: 15, locations: {} }, MAP, 'LOC-DEL'), {
      'LOC-MUM': 0,
      'LOC-DEL': 15,
    });
  });

  it('lays out the OMS breakdown, adding locations that share an id, and zeroes the rest', () => {
    assert.deepEqual(
      expectedLayout({ quantity: 2, locations: { 'STORE-MUM-003': 2, 'STORE-MUM-007': 3 } }, MAP, 'LOC-DEL'),
      { 'LOC-MUM': 5, 'LOC-DEL': 0 },
    );
  });

  it('ignores OMS locations the marketplace has no id for', () => {
    assert.deepEqual(expectedLayout({ quantity: 7, locations: { 'STORE-PUN-001': 7 } }, MAP, 'LOC-DEL'), {
      'LOC-MUM': 0,
      'LOC-DEL': 0,
    });
  });
});

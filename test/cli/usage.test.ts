import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { main } from '../../src/cli/main.js';

/** Runs main with stdout/stderr captured (commander writes usage errors and help there). */
async function run(args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const write = (chunk: string | Uint8Array) => {
    out += String(chunk);
    return true;
  };
  const [o, e] = [process.stdout.write, process.stderr.write];
  process.stdout.write = write as typeof process.stdout.write;
  process.stderr.write = write as typeof process.stderr.write;
  try {
    return { code: await main(['node', 'marketbridge', ...args], {}), out };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

describe('command line usage', () => {
  it('exits 2 on an unknown command, naming it', async () => {
    const r = await run(['bogus']);
    assert.equal(r.code, 2);
    assert.match(r.out, /unknown command 'bogus'/);
  });

  it('exits 2 on a bad option value, saying what it expects', async () => {
    const r = await run(['demo', '--timeout-s', 'soon']);
    assert.equal(r.code, 2);
    assert.match(r.out, /expected a non-negative integer/);
  });

  it('exits 2 when send is given a file it cannot use, saying why', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mb-usage-'));
    const latin1 = join(dir, 'latin1.jsonl');
    writeFileSync(latin1, Buffer.from('{"id":"A","brand":"Nestl\xe9"}\n', 'latin1'));
    const utf16 = join(dir, 'utf16.jsonl');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('{"id":"A"}\n', 'utf16le')]));
    for (const [file, why] of [
      [join(dir, 'missing.jsonl'), /no such file/],
      [dir, /is a directory/],
      [latin1, /file is not valid UTF-8/],
      [utf16, /is UTF-16 text; save it as UTF-8/],
    ] as const) {
      const r = await run(['send', file]);
      assert.equal(r.code, 2, file);
      assert.match(r.out, why);
    }
  });

  it('exits 0 on --help and names the three sandboxes in the demo help', async () => {
    const r = await run(['demo', '--help']);
    assert.equal(r.code, 0);
    assert.match(r.out, /Amazon, Flipkart\s+and Tata CliQ sandboxes/);
  });
});

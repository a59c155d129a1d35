#!/usr/bin/env node
// Runs node:test over test files found on disk (Node 20's --test does not expand .ts globs).
// `--unit` runs only *.test.ts without I/O; `--it` only *.it.test.ts. A run that finds no file fails.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const only = args.includes('--unit') ? 'unit' : args.includes('--it') ? 'it' : 'all';
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}

const files = walk('test')
  .filter((f) => f.endsWith('.test.ts'))
  .filter((f) =>
    only === 'all' ? true : only === 'it' ? f.endsWith('.it.test.ts') : !f.endsWith('.it.test.ts'),
  )
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort();

if (files.length === 0) {
  console.error('run-tests: no test files found');
  process.exit(1);
}
// Files named *.serial.* disturb shared services (the contract suite restarts RabbitMQ): they run
// alone, after the others.
const parallel = files.filter((f) => !f.includes('.serial.'));
const serial = files.filter((f) => f.includes('.serial.'));
const node = (concurrency, list) =>
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=120000', ...list],
    { stdio: 'inherit' },
  ).status ?? 1;
let status = parallel.length > 0 ? node(2, parallel) : 0;
if (serial.length > 0) status = node(1, serial) || status;
process.exit(status);

#!/usr/bin/env node
// Runs the TypeScript sources directly through tsx: no build step between a clone and a run.
import { register } from 'tsx/esm/api';

register();
try {
  const { main } = await import('../src/cli/main.ts');
  process.exitCode = await main(process.argv);
} catch (err) {
  // Expected failures (config, a busy data folder, an unreachable broker) read as one line;
  // LOG_LEVEL=debug shows the stack.
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`marketbridge: ${message}\n`);
  if (process.env.LOG_LEVEL === 'debug' && err instanceof Error) process.stderr.write(`${err.stack}\n`);
  process.exitCode = 1;
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { createTransport, startApp } from '../app.js';
import { ConfigError, type LoadConfigOptions, loadConfig, type RawEnv } from '../config/index.js';
import { createLogger } from '../core/logger.js';
import { decodeUtf8, errorSummary } from '../core/text.js';
import { migrate, openDatabase } from '../persistence/database.js';
import { loadIbmMqModule, MqClientMissingError } from '../streams/mqi.js';
import { runDemo } from './demo.js';
import { startDemoMarketplaces } from './demo-marketplaces.js';

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a non-negative integer');
  return n;
};

/** Stops on the first SIGTERM/SIGINT by draining; a second one exits at once. */
function onSignals(drain: () => Promise<void>, out: (l: string) => void, doing = 'draining'): Promise<void> {
  return new Promise((done) => {
    let count = 0;
    const handler = (sig: NodeJS.Signals) => {
      count++;
      if (count > 1) {
        out(`${sig} again: exiting without draining`);
        process.exit(130);
      }
      out(`${sig}: ${doing} (send again to force)`);
      void drain().finally(done);
    };
    process.on('SIGTERM', handler);
    process.on('SIGINT', handler);
  });
}

function configOrExit(env: RawEnv, options?: LoadConfigOptions) {
  try {
    return loadConfig(env, options);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`marketbridge: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

/**
 * The lines of a JSONL file (LF, CRLF or CR line ends; blank lines skipped). A file that cannot
 * be read, or is not UTF-8 text, is a bad argument: one line, and main returns 2.
 */
function readLinesOrFail(file: string): string[] {
  const fail = (why: string): never => {
    process.stderr.write(`marketbridge: ${file}: ${why}\n`);
    throw new CommanderError(2, 'marketbridge.badFile', why); // exits 2, as a usage error
  };
  let bytes: Buffer;
  try {
    bytes = readFileSync(resolve(file));
  } catch (err) {
    const why: Record<string, string> = {
      ENOENT: 'no such file',
      EISDIR: 'is a directory, not a JSONL file',
      EACCES: 'not allowed to read it',
    };
    return fail(why[(err as NodeJS.ErrnoException).code ?? ''] ?? errorSummary(err));
  }
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return fail('is UTF-16 text; save it as UTF-8');
  }
  const { text, problem } = decodeUtf8(bytes, 'file');
  if (problem) return fail(problem);
  return text.split(/\r\n|\n|\r/).filter((l) => l.trim() !== '');
}

/** Why a line is not sent: what no consumer could take. */
function lineProblem(line: string, maxBytes: number): string | undefined {
  const bytes = Buffer.byteLength(line, 'utf8');
  if (bytes > maxBytes) return `${bytes} bytes, more than MQ_MAX_MESSAGE_BYTES (${maxBytes})`;
  if (line.includes('\u0000')) return 'contains NUL characters (binary data, or UTF-16?)';
  return undefined;
}

/** MQ_TRANSPORT=ibmmq needs IBM's C client: say so in one line and exit, before anything starts. */
async function transportAvailableOrExit(transport: string): Promise<void> {
  if (transport !== 'ibmmq') return;
  try {
    await loadIbmMqModule();
  } catch (err) {
    if (err instanceof MqClientMissingError) {
      process.stderr.write(`marketbridge: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export async function main(argv: string[], env: RawEnv = process.env): Promise<number> {
  const out = (l: string) => process.stdout.write(`${l}\n`);
  let code = 0;
  const program = new Command()
    .name('marketbridge')
    .description(
      'Sell on Amazon.in, Flipkart and Tata CliQ from the OMS: OMS events in over IBM MQ / AMQP, marketplaces follow.',
    )
    .showHelpAfterError();

  program
    .command('start')
    .description(
      'run the daemon: consume the OMS queue, drive listings on the marketplaces (config from env)',
    )
    .action(async () => {
      const config = configOrExit(env);
      await transportAvailableOrExit(config.queue.transport);
      const logger = createLogger(config.logLevel);
      const app = await startApp(config, { logger });
      out(
        `marketbridge running (queue ${config.queue.transport}: ${config.queue.inbound}; database ${app.db.description})`,
      );
      const failed = await Promise.race([onSignals(() => app.stop(), out).then(() => undefined), app.fatal]);
      if (failed) {
        process.stderr.write(`marketbridge: cannot go on: ${failed.message}\n`);
        await app.stop();
        code = 1;
      }
    });

  program
    .command('send')
    .argument('<file>', 'JSONL file, one OMS event per line')
    .description('put each line of FILE as one message on the inbound queue (MQ_TRANSPORT decides which)')
    .action(async (file: string) => {
      const lines = readLinesOrFail(file);
      const config = configOrExit(env, { requireMarketplaceCredentials: false });
      await transportAvailableOrExit(config.queue.transport);
      const logger = createLogger(config.logLevel === 'info' ? 'warn' : config.logLevel);
      // Only the embedded queue lives in the database; a broker needs nothing else.
      const db =
        config.queue.transport === 'embedded'
          ? await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir })
          : undefined;
      try {
        if (db) await migrate(db);
        const transport = createTransport(config, {
          logger,
          ...(db ? { db } : {}),
          amqp: { reconnect: { initialDelayMs: 200, maxDelayMs: 2000, limit: 3 }, settleTimeoutMs: 10_000 },
        });
        let sent = 0;
        const failures: string[] = [];
        const maxBytes = config.queue.maxMessageBytes;
        for (const [i, l] of lines.entries()) {
          const problem = lineProblem(l, maxBytes);
          if (problem) {
            failures.push(`line ${i + 1}: ${problem}`);
            continue;
          }
          try {
            await transport.publish(config.queue.inbound, l);
            sent++;
          } catch (err) {
            failures.push(`line ${i + 1}: ${errorSummary(err)}`);
            if (failures.length >= 3 && sent === 0) break; // the queue itself is unreachable
          }
        }
        await transport.close();
        out(
          `sent ${sent} of ${lines.length} messages to ${config.queue.inbound} (${config.queue.transport})`,
        );
        for (const f of failures.slice(0, 20)) process.stderr.write(`marketbridge: not sent: ${f}\n`);
        if (failures.length > 0) code = 1;
      } finally {
        await db?.close();
      }
    });

  program
    .command('sandbox')
    .description('run the marketplace sandboxes (Amazon, Flipkart, Tata CliQ) on localhost until stopped')
    .option(
      '--port <port>',
      'Amazon on this port, Flipkart on the next, Tata CliQ on the one after',
      int,
      4601,
    )
    .option('--rate-scale <n>', 'multiply Amazon’s published rate limits', Number, 1)
    .option('--apply-delay-ms <ms>', 'Amazon: time until an ACCEPTED change shows on GET', int, 1000)
    .option('--state-dir <path>', 'keep the sandboxes’ listings in JSON files under this folder')
    .action(async (o: { port: number; rateScale: number; applyDelayMs: number; stateDir?: string }) => {
      const sandboxes = await startDemoMarketplaces({
        basePort: o.port,
        rateScale: o.rateScale,
        applyDelayMs: o.applyDelayMs,
        ...(o.stateDir ? { stateDir: o.stateDir } : {}),
      });
      for (const m of sandboxes) out(`${m.label} sandbox on ${m.url}`);
      out('In another shell, point marketbridge at them:');
      out(`  export MARKETPLACES='${sandboxes.map((m) => m.id).join(',')}'`);
      for (const m of sandboxes) for (const [k, v] of Object.entries(m.env)) out(`  export ${k}='${v}'`);
      out('  npx marketbridge start');
      await onSignals(
        async () => {
          for (const m of sandboxes) await m.stop();
        },
        out,
        'stopping the sandboxes',
      );
    });

  program
    .command('demo')
    .description(
      'everything on this machine: embedded Postgres and queue, the Amazon, Flipkart and Tata CliQ sandboxes, the sample OMS feed, then orders',
    )
    .option('--feed <file>', 'OMS feed to send', '../shared/samples/oms-events.jsonl')
    .option('--fresh', 'delete the demo data folder first (database and sandbox state)', false)
    .option('--timeout-s <s>', 'give up if listings have not settled after this long', int, 600)
    .action(async (o: { feed: string; fresh: boolean; timeoutS: number }) => {
      const logger = createLogger(env.LOG_LEVEL ?? 'warn');
      code = await runDemo({
        env,
        logger,
        feedFile: resolve(o.feed),
        fresh: o.fresh,
        out,
        timeoutMs: o.timeoutS * 1000,
      });
    });

  // A usage error (unknown command, bad option value) exits 2 like a configuration error; help, 0.
  program.exitOverride((err) => {
    throw err;
  });
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2;
    throw err;
  }
  return code;
}

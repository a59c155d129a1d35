/**
 * `marketbridge start` with MQ_TRANSPORT=ibmmq on a machine without IBM's MQ C client: one clear
 * line on stderr, exit code 1, nothing started. (Skipped where an MQ client is installed.)
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';

const hasMqClient =
  process.env['MQ_INSTALLATION_PATH'] !== undefined ||
  existsSync('/opt/mqm/lib64/libmqm_r.so') ||
  existsSync('/opt/mqm/lib/libmqm_r.so');

describe('marketbridge start with MQ_TRANSPORT=ibmmq', () => {
  it(
    'prints one line naming the missing MQ client and exits 1',
    hasMqClient ? { skip: 'an IBM MQ client is installed here' } : {},
    async () => {
      const { code, stdout, stderr } = await new Promise<{
        code: number | null;
        stdout: string;
        stderr: string;
      }>((resolve) => {
        execFile(
          process.execPath,
          ['bin/marketbridge.js', 'start'],
          {
            timeout: 30_000,
            env: {
              PATH: process.env['PATH'] ?? '',
              MQ_TRANSPORT: 'ibmmq',
              MQ_QMGR: 'QM1',
              MQ_CONNAME: '127.0.0.1(1414)',
              MARKETPLACES: 'amazon',
              AMAZON_CLIENT_ID: 'amzn1.application-oa2-client.test',
              AMAZON_CLIENT_SECRET: 'secret',
              AMAZON_REFRESH_TOKEN: 'Atzr|test',
              AMAZON_SELLER_ID: 'A2TESTSELLER',
              MARKETBRIDGE_DATA_DIR: '/nonexistent/never-created',
            },
          },
          (err, out, errOut) =>
            resolve({
              code: err ? ((err as { code?: number }).code ?? null) : 0,
              stdout: out,
              stderr: errOut,
            }),
        );
      });
      assert.equal(code, 1, `exit code; stderr: ${stderr}`);
      const lines = stderr.trim().split('\n');
      assert.equal(lines.length, 1, `one line: ${stderr}`);
      assert.match(
        lines[0]!,
        /^marketbridge: MQ_TRANSPORT=ibmmq needs the IBM MQ C client library \(libmqm_r\.so\)/,
      );
      assert.match(lines[0]!, /MQ_INSTALLATION_PATH/);
      assert.equal(stdout, '', 'nothing started');
    },
  );
});

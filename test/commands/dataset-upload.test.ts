/**
 * A `/dataset check` file comment: the grammar, and the whole path from a shared file to
 * the report in its thread. A loopback server plays Slack's file host, the fake Slack Web
 * API receives the report, and the real trainer checks the file.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { SlackChat } from '../../src/bot/slack-chat.js';
import { handleDatasetUpload, parseUploadComment } from '../../src/commands/dataset-upload.js';
import { isParseError } from '../../src/commands/parse-error.js';
import { loadConfig } from '../../src/config/load.js';
import { checkSharedFile } from '../../src/jobs/dataset-upload.js';
import { startFakeSlack, type FakeSlack } from '../support/fake-slack.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const config = loadConfig('config/trainops.example.yaml');
const TOKEN = 'xoxb-upload-test';

describe('upload comment grammar', () => {
  it.each([
    ['/dataset check', {}],
    ['dataset check medical-data', { recipe: 'medical-data' }],
    ['<@U0BOT1> 数据集 检查 medical-data', { recipe: 'medical-data' }],
  ])('%s', (text, expected) => {
    expect(parseUploadComment(text, config)).toEqual(expected);
  });

  it.each(['here is the file', '/train medical-phi4', ''])('ignores %j', (text) => {
    expect(parseUploadComment(text, config)).toBeUndefined();
  });

  it.each([
    ['/dataset list', 'dataset.usage'],
    ['/dataset check phi4-multimodal', 'core.error.wrong_kind'],
    ['/dataset check medical-data extra', 'core.error.unexpected_word'],
  ])('rejects %j', (text, key) => {
    const parsed = parseUploadComment(text, config);
    expect(isParseError(parsed) && parsed.key).toBe(key);
  });
});

describe('uploaded file check', () => {
  let slack: FakeSlack;
  let fileServer: http.Server;
  let fileUrl: string;

  beforeAll(async () => {
    slack = await startFakeSlack();
    const rows = [1, 2, 3, 3]
      .map((index) => JSON.stringify({ question: `问题${index}`, 'reasoning (reasoning_content)': `推理${index}`, 'response (content)': `回答${index}` }))
      .join('\n');
    fileServer = http.createServer((request, response) => {
      if (request.headers.authorization !== `Bearer ${TOKEN}`) response.writeHead(403).end();
      else response.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(rows);
    });
    await new Promise<void>((resolve) => fileServer.listen(0, '127.0.0.1', resolve));
    fileUrl = `http://127.0.0.1:${(fileServer.address() as AddressInfo).port}/files/medical.jsonl`;
  });

  afterAll(async () => {
    await new Promise((resolve) => fileServer.close(resolve));
    await slack.stop();
  });

  it('posts the report in the file thread', async () => {
    const handled = await handleDatasetUpload(
      { text: '/dataset check medical-data', files: [{ name: 'medical.jsonl', urlPrivateDownload: fileUrl }], channel: 'C0DATA002', ts: '1700000000.000100', userId: 'U01CHENCHEN' },
      {
        config,
        chat: new SlackChat({ token: 'xoxb-test', slackApiUrl: slack.url, rejectRateLimitedCalls: true }),
        t: translator('en'),
        logger: pino({ level: 'silent' }),
        checkFile: (file, recipe) => checkSharedFile(file, { token: TOKEN, python: PYTHON, pythonRoot: path.join(REPO, 'python'), recipe: { maxLength: recipe?.maxLength ?? 512 } }),
      },
    );

    expect(handled).toBe(true);
    const posted = slack.callsOf('chat.postMessage').map((call) => call.body);
    expect(posted).toHaveLength(1);
    expect(posted[0]!.thread_ts).toBe('1700000000.000100');
    const text = String(posted[0]!.text);
    expect(text).toContain('Data set report: medical.jsonl');
    expect(text).toContain('• Rows: 4');
    expect(text).toContain('Target 3000–10000 rows: below (2996 short)');
    expect(text).toContain('Exact duplicates: 1');
  });
});

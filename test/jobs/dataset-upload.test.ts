/**
 * Uploaded data files: a loopback server plays Slack's file host (it serves
 * `url_private_download` only with the bot token), and the real trainer checks the file
 * on this machine.
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { formatDatasetReport } from '../../src/jobs/dataset-report.js';
import { checkSharedFile, type UploadCheckOptions } from '../../src/jobs/dataset-upload.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const PYTHON = execFileSync('bash', [path.join(REPO, 'scripts/python-env.sh')], { encoding: 'utf8' }).trim();
const TOKEN = 'xoxb-canary-upload-token';
const t = translator('en');

const ROWS = [1, 2, 3]
  .map((index) => JSON.stringify({ question: `问题${index}`, 'reasoning (reasoning_content)': `推理${index}`, 'response (content)': `回答${index}` }))
  .join('\n');
const GBK_CSV = execFileSync('iconv', ['-f', 'UTF-8', '-t', 'GBK'], {
  input: 'question,reasoning (reasoning_content),response (content)\n发热怎么办？,多见于感染。,多喝水。\n',
});

describe('uploaded data files', () => {
  let server: http.Server;
  let baseUrl: string;
  const authorizations: Array<string | undefined> = [];

  beforeAll(async () => {
    server = http.createServer((request, response) => {
      authorizations.push(request.headers.authorization);
      if (request.headers.authorization !== `Bearer ${TOKEN}`) {
        response.writeHead(200, { 'Content-Type': 'text/html' }).end('<html>sign in</html>');
        return;
      }
      const files: Record<string, Buffer | string> = { '/files/good.jsonl': ROWS, '/files/gbk.csv': GBK_CSV };
      const body = files[request.url ?? ''];
      if (body === undefined) response.writeHead(404).end();
      else response.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const options = (): UploadCheckOptions => ({ token: TOKEN, python: PYTHON, pythonRoot: path.join(REPO, 'python'), recipe: { maxLength: 512 } });

  it('checks a good JSONL upload', async () => {
    const report = await checkSharedFile({ name: 'medical v2.jsonl', urlPrivateDownload: `${baseUrl}/files/good.jsonl` }, options());

    expect(report.ok).toBe(true);
    expect(report.rows).toBe(3);
    expect(report.path).toBe('medical v2.jsonl');
    expect(authorizations.at(-1)).toBe(`Bearer ${TOKEN}`);
    expect(formatDatasetReport(report, { min: 3000, max: 10000 }, t)).toContain('Target 3000–10000 rows: below (2997 short)');
  });

  it('reports a GBK-encoded CSV upload', async () => {
    const report = await checkSharedFile({ name: 'export.csv', urlPrivateDownload: `${baseUrl}/files/gbk.csv` }, options());

    expect(report.rows).toBe(1);
    expect(report.encoding).toMatch(/^gb/);
    expect(report.warnings?.join(' ')).toMatch(/GB/);
  });

  it('rejects an unknown file type without downloading', async () => {
    const before = authorizations.length;
    const report = await checkSharedFile({ name: 'notes.txt', urlPrivateDownload: `${baseUrl}/files/notes.txt` }, options());

    expect(report.error?.message).toContain('unknown file type ".txt"');
    expect(authorizations.length).toBe(before);
  });

  it('explains a missing files:read scope', async () => {
    const report = await checkSharedFile({ name: 'good.jsonl', urlPrivateDownload: `${baseUrl}/files/good.jsonl` }, { ...options(), token: 'xoxb-wrong' });

    expect(report.error?.message).toContain('files:read');
    expect(JSON.stringify(report)).not.toContain(TOKEN);
  });

  it('reports a failed download', async () => {
    const report = await checkSharedFile({ name: 'gone.jsonl', urlPrivateDownload: `${baseUrl}/files/gone.jsonl` }, options());

    expect(report.error?.message).toBe('downloading gone.jsonl from Slack failed with HTTP 404');
  });
});

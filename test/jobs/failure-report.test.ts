import { describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { formatFailureReport, LOG_TAIL_CHARS, trimLogTail } from '../../src/jobs/failure-report.js';
import { formatResumePoint } from '../../src/jobs/run-reporter.js';
import type { RunRecord } from '../../src/jobs/run-types.js';

const zh = translator('zh-CN');
const en = translator('en');

const run: RunRecord = {
  id: '42',
  kind: 'train',
  recipe: 'medical-phi4',
  vm: 'yanshiyiliao',
  userId: 'U01CHENCHEN',
  channel: 'CRUNS',
  threadTs: '1.2',
  overrides: { lr: 0.0001, epochs: 2 },
  status: 'failed',
  attempt: 2,
  attempts: [
    { attempt: 1, startedAt: 't', startedBy: 'U01CHENCHEN', status: 'failed', failureClass: 'killed' },
    { attempt: 2, startedAt: 't', startedBy: 'trainops:auto', resumedFrom: '/runs/42/output/checkpoint-1200' },
  ],
  createdAt: 't',
  updatedAt: 't',
  eventOffset: 0,
  lastCheckpoint: { step: 1200, path: '/runs/42/output/checkpoint-1200' },
};

describe('trimLogTail', () => {
  it('keeps the last 20 lines', () => {
    const log = Array.from({ length: 50 }, (_, index) => `line ${index + 1}`).join('\n');
    const trimmed = trimLogTail(log).split('\n');
    expect(trimmed).toHaveLength(20);
    expect(trimmed[0]).toBe('line 31');
    expect(trimmed.at(-1)).toBe('line 50');
  });

  it('drops whole lines to fit', () => {
    const log = Array.from({ length: 10 }, (_, index) => `${index}`.repeat(400)).join('\n');
    const trimmed = trimLogTail(log);
    expect(trimmed.length).toBeLessThanOrEqual(LOG_TAIL_CHARS);
    expect(trimmed.startsWith('4')).toBe(true);
  });

  it('cuts one huge line', () => {
    const trimmed = trimLogTail('x'.repeat(10_000));
    expect(trimmed).toHaveLength(LOG_TAIL_CHARS);
    expect(trimmed.startsWith('…')).toBe(true);
  });
});

describe('formatFailureReport', () => {
  const input = {
    run,
    classification: { failureClass: 'out_of_memory' as const, detail: 'CUDA out of memory. Tried to allocate 2 GiB' },
    exitCode: 1,
    logTail: 'step 1\n```\nRuntimeError: CUDA out of memory',
  };

  it('states class, exit code and checkpoint', () => {
    const { text } = formatFailureReport(zh, input);
    expect(text).toContain('#42 第 2 次尝试失败：GPU 显存不足');
    expect(text).toContain('退出码：1');
    expect(text).toContain('checkpoint-1200');
    expect(text).toContain('第 1200 步');
    expect(text).toContain('<@U01CHENCHEN>');
    expect(text).toContain('`lr=0.0001`');
    expect(text).toContain('`epochs=2`');
  });

  it('lists every attempt', () => {
    const blocks = JSON.stringify(formatFailureReport(zh, input).blocks);
    expect(blocks).toContain('第 1 次（<@U01CHENCHEN>，从头开始）：进程被信号终止');
    expect(blocks).toContain('第 2 次（自动重启，从第 1200 步的检查点 checkpoint-1200 恢复）');
  });

  it('keeps log fences closed', () => {
    const blocks = formatFailureReport(zh, input).blocks as Array<{ text?: { text: string } }>;
    const logSection = blocks[1]?.text?.text ?? '';
    expect(logSection.match(/```/g)).toHaveLength(2);
  });

  it('has restart and logs buttons', () => {
    const blocks = JSON.stringify(formatFailureReport(zh, input).blocks);
    expect(blocks).toContain('run_restart');
    expect(blocks).toContain('run_logs');
  });

  it('carries the loss sparkline of the short outcome', () => {
    const { text } = formatFailureReport(zh, { ...input, losses: [3, 2, 1.5, 1.2] });

    expect(text).toContain('损失曲线：█▄▂▁');
    expect(formatFailureReport(zh, input).text).not.toContain('损失曲线');
  });

  it('carries the stages of a chained run', () => {
    const chained: RunRecord = {
      ...run,
      stages: [
        { index: 0, count: 2, stage: 'sft', step: 50, loss: 1.5 },
        { index: 1, count: 2, stage: 'grpo', step: 10, rewardMean: 0.25 },
      ],
    };
    const { text } = formatFailureReport(zh, { ...input, run: chained });

    expect(text).toContain(zh('rl.end.chain'));
    expect(text).toContain('1.5');
    expect(text).toContain('0.25');
  });

  it('puts the cause before the quoted detail', () => {
    const classification = { failureClass: 'data_error' as const, detail: 'data file not found: /data/train.jsonl' };
    const { text } = formatFailureReport(zh, { ...input, classification });

    expect(text).toContain('原因：训练数据有问题：文件缺失、读不了或格式不对。详情：“data file not found: /data/train.jsonl”');
    expect(text).not.toContain('原因：data file');
  });

  it('states the cause without a detail', () => {
    const { text } = formatFailureReport(zh, { ...input, classification: { failureClass: 'unknown', detail: '' } });

    expect(text).toContain('原因：训练程序报错，原因不属于已知的几类');
    expect(text).not.toContain('详情');
  });

  it('asks to fix data before restarting', () => {
    const blocks = JSON.stringify(formatFailureReport(zh, { ...input, classification: { failureClass: 'data_error', detail: 'x' } }).blocks);

    expect(blocks).toContain('先修好训练数据');
    expect(blocks).toContain('/restart #42');
  });

  it('asks to fix the config before restarting', () => {
    const blocks = JSON.stringify(formatFailureReport(zh, { ...input, classification: { failureClass: 'config_error', detail: 'unknown option lora_rnk' } }).blocks);

    expect(blocks).toContain('先改好配置文件里配方 `medical-phi4` 的设置');
    expect(blocks).toContain('unknown option lora_rnk');
  });

  it('offers a plain restart otherwise', () => {
    const blocks = JSON.stringify(formatFailureReport(zh, input).blocks);

    expect(blocks).toContain('用 `/restart #42 from=latest|<步数>|scratch` 或下面的按钮重启');
    expect(blocks).not.toContain('先修好');
  });

  it('reads in English', () => {
    const { text } = formatFailureReport(en, { ...input, classification: { failureClass: 'killed', signal: 'SIGKILL', detail: 'exit code 137 (SIGKILL)' }, exitCode: 137 });
    expect(text).toContain('#42 attempt 2 failed: killed by a signal');
    expect(text).toContain('Exit code: 137 (SIGKILL)');
  });
});

describe('formatResumePoint', () => {
  it('names the checkpoint step', () => {
    expect(formatResumePoint(zh, '/x/output/checkpoint-1200')).toBe('从第 1200 步的检查点 checkpoint-1200 恢复');
    expect(formatResumePoint(zh, null)).toBe('从头开始');
  });
});

describe('restart messages', () => {
  const from = formatResumePoint(zh, '/x/output/checkpoint-23');

  it('use Unicode emoji, not shortcodes', () => {
    for (const t of [zh, en]) {
      const texts = [
        t('restart.announce', { runId: '2', attempt: 2, user: 'U0DEMO', from }),
        t('restart.auto', { runId: '2', number: 1, max: 3, seconds: 30, attempt: 2, from }),
        t('restart.autoStartVm', { vm: 'gpu1' }),
        t('failure.title', { runId: '2', attempt: 1, label: 'x' }),
      ];
      for (const text of texts) expect(text).not.toMatch(/:[a-z_]+:/);
    }
    expect(zh('restart.announce', { runId: '2', attempt: 2, user: 'U0DEMO', from })).toMatch(/^🔁 /);
  });

  it('do not nest brackets', () => {
    const queued = zh('restart.queued', { runId: '2', attempt: 2, from });

    expect(queued).toBe('已安排重启 #2（第 2 次尝试，从第 23 步的检查点 checkpoint-23 恢复）');
    expect(en('restart.queued', { runId: '2', attempt: 2, from: formatResumePoint(en, '/x/checkpoint-23') })).not.toMatch(/\([^)]*\(/);
  });
});

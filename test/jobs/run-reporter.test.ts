import { describe, expect, it } from 'vitest';

import { findMissingKeys, translator } from '../../src/bot/i18n.js';
import { chartLabels, ENGLISH_CHART_LABELS, findCjkFontFamily, renderLossChart, stepTicks } from '../../src/jobs/loss-chart.js';
import { runDetail, runLine } from '../../src/commands/run-summary.js';
import { configSchema } from '../../src/config/schema.js';
import {
  cancelRequestedKey,
  estimateRemainingMs,
  formatDuration,
  formatEndReason,
  formatFinalMessage,
  formatLoss,
  formatLossChange,
  formatOutboxItem,
  formatThreadRoot,
  runningTime,
  runStatusLabel,
} from '../../src/jobs/run-reporter.js';
import { canTransition } from '../../src/jobs/run-state.js';
import type { RunRecord } from '../../src/jobs/run-types.js';
import { sparkline } from '../../src/jobs/sparkline.js';

const zh = translator('zh-CN');
const en = translator('en');

const run: RunRecord = {
  id: '42',
  kind: 'train',
  recipe: 'medical-phi4',
  vm: 'yanshiyiliao',
  userId: 'U0ALICE01',
  channel: 'C0TRAIN01',
  threadTs: '1733300000.000100',
  overrides: { lr: 0.0001, epochs: 2 },
  status: 'running',
  attempt: 1,
  attempts: [],
  createdAt: '2026-12-07T09:00:00+08:00',
  updatedAt: '2026-12-07T09:10:00+08:00',
  startedAt: '2026-12-07T09:00:00+08:00',
  eventOffset: 100,
  step: 200,
  maxSteps: 1000,
  loss: 1.23456,
  stepRateOrigin: { step: 100, time: '2026-12-07T09:00:00+08:00' },
  lastStepTime: '2026-12-07T09:10:00+08:00',
};

describe('formatThreadRoot', () => {
  it('shows status, step, loss, ETA, VM, recipe, starter and overrides', () => {
    const root = formatThreadRoot(run, zh);
    const text = JSON.stringify(root.blocks);

    expect(root.text).toContain('训练 #42 · medical-phi4 @ yanshiyiliao');
    expect(text).toContain('训练中');
    expect(text).toContain('*步数*：200 / 1000');
    expect(text).toContain('*损失*：1.235');
    expect(text).toContain('*预计剩余*：1 小时 20 分');
    expect(text).toContain('<@U0ALICE01>');
    expect(text).toContain('`lr=0.0001` `epochs=2`');
  });

  it('offers cancel while active and restart after the end', () => {
    const active = JSON.stringify(formatThreadRoot(run, zh).blocks);
    const ended = JSON.stringify(formatThreadRoot({ ...run, status: 'failed' }, zh).blocks);

    expect(active).toContain('"action_id":"run_cancel","value":"42"');
    expect(active).toContain('"action_id":"run_logs","value":"42"');
    expect(ended).toContain('"action_id":"run_restart","value":"42"');
    expect(ended).not.toContain('run_cancel');
  });

  it('offers no restart after success', () => {
    const succeeded = JSON.stringify(formatThreadRoot({ ...run, status: 'succeeded' }, zh).blocks);

    expect(succeeded).not.toContain('run_restart');
    expect(succeeded).toContain('"action_id":"run_logs","value":"42"');
  });

  it('formats in English', () => {
    expect(formatThreadRoot(run, en).text).toBe('Training #42 · medical-phi4 @ yanshiyiliao · 🏃 Running');
  });
});

describe('formatThreadRoot after a restart', () => {
  /** Attempt 2 of `run` as a restart stores it: resuming from checkpoint-150, with the last attempt's progress cleared. */
  const restarted: RunRecord = {
    ...run,
    status: 'syncing',
    attempt: 2,
    resumeFrom: '/runs/42/output/checkpoint-150',
    lastCheckpoint: { step: 150, path: '/runs/42/output/checkpoint-150' },
    step: undefined,
    loss: undefined,
    stepRateOrigin: undefined,
    lastStepTime: undefined,
  };

  it('shows where the attempt resumes', () => {
    const text = JSON.stringify(formatThreadRoot(restarted, zh).blocks);

    expect(text).toContain('*恢复*：正在从第 150 步的检查点 checkpoint-150 恢复');
    expect(text).toContain('*步数*：150 / 1000');
    expect(text).toContain('*尝试*：第 2 次');
    expect(text).toContain('正在同步代码');
  });

  it('shows no stale ETA or loss', () => {
    // A record restarted before progress was cleared still carries the old step rate.
    const stale = { ...restarted, loss: 1.23456, stepRateOrigin: run.stepRateOrigin, lastStepTime: run.lastStepTime, maxSteps: 1000 };
    const text = JSON.stringify(formatThreadRoot(stale, zh).blocks);

    expect(text).toContain('*预计剩余*：—');
    expect(text).toContain('*损失*：—');
    expect(text).not.toContain('1 小时 20 分');
  });

  it('resumes from scratch', () => {
    const text = JSON.stringify(formatThreadRoot({ ...restarted, resumeFrom: 'scratch', lastCheckpoint: undefined }, en).blocks);

    expect(text).toContain('*Resume*: starting from scratch');
    expect(text).toContain('*Step*: 0 / 1000');
  });

  it('shows progress once the attempt reports a step', () => {
    const stepped = { ...restarted, status: 'running' as const, step: 160, loss: 1.1, stepRateOrigin: { step: 151, time: '2026-12-07T10:00:00+08:00' }, lastStepTime: '2026-12-07T10:01:30+08:00' };
    const text = JSON.stringify(formatThreadRoot(stepped, zh).blocks);

    expect(text).not.toContain('*恢复*');
    expect(text).toContain('*步数*：160 / 1000');
    expect(text).toContain('*预计剩余*：2 小时 20 分');
  });

  it('drops the resume line once the attempt ends', () => {
    const text = JSON.stringify(formatThreadRoot({ ...restarted, status: 'cancelled' }, zh).blocks);

    expect(text).not.toContain('*恢复*');
  });
});

describe('cancelRequestedKey', () => {
  it.each([
    ['no step read yet', { step: undefined }, 'runs.cancel.requestedStarting'],
    ['step 0', { step: 0 }, 'runs.cancel.requestedStarting'],
    ['training at step 5', { step: 5 }, 'runs.cancel.requested'],
  ] as const)('picks the reply for %s', (_name, fields, key) => {
    expect(cancelRequestedKey(fields)).toBe(key);
  });

  it('promises no checkpoint in the starting reply', () => {
    expect(zh('runs.cancel.requestedStarting', { user: 'U1' })).not.toContain('保存检查点');
    expect(zh('runs.cancel.requestedStarting', { user: 'U1' })).not.toContain('第一步');
    expect(en('runs.cancel.requestedStarting', { user: 'U1' })).not.toContain('checkpoint');
  });
});

describe('runningTime', () => {
  const twoAttempts: RunRecord = {
    ...run,
    status: 'succeeded',
    attempt: 2,
    startedAt: '2026-12-07T09:00:00+08:00',
    endedAt: '2026-12-07T14:00:00+08:00',
    attempts: [
      { attempt: 1, startedAt: '2026-12-07T09:00:00+08:00', launchedAt: '2026-12-07T09:01:00+08:00', endedAt: '2026-12-07T10:01:00+08:00', startedBy: 'U0ALICE01', status: 'cancelled' },
      // Restarted three hours after the cancel.
      { attempt: 2, startedAt: '2026-12-07T13:00:00+08:00', launchedAt: '2026-12-07T13:30:00+08:00', endedAt: '2026-12-07T14:00:00+08:00', startedBy: 'U0ALICE01', status: 'succeeded' },
    ],
  };

  it('sums the running spans of the attempts', () => {
    expect(runningTime(twoAttempts)).toEqual({ ms: 90 * 60_000, attempts: 2 });
  });

  it('skips an attempt that never launched', () => {
    const unlaunched = { ...twoAttempts, attempts: [twoAttempts.attempts[0]!, { ...twoAttempts.attempts[1]!, launchedAt: undefined }] };

    expect(runningTime(unlaunched)).toEqual({ ms: 60 * 60_000, attempts: 1 });
  });

  it('falls back to the run start without launch times', () => {
    expect(runningTime({ ...twoAttempts, attempts: [] })).toEqual({ ms: 5 * 3600_000, attempts: 1 });
    expect(runningTime({ ...twoAttempts, attempts: [], endedAt: undefined })).toBeUndefined();
  });

  it('says the duration adds up attempts', () => {
    const final = formatFinalMessage({ run: { ...twoAttempts, outputPath: '/o' }, losses: [], lostAfterSeconds: 600 }, zh);
    const english = formatFinalMessage({ run: { ...twoAttempts, outputPath: '/o' }, losses: [], lostAfterSeconds: 600 }, en);

    expect(final.text).toContain('用时 1 小时 30 分（2 次尝试的运行时间之和）');
    expect(english.text).toContain('in 1 h 30 min (running time of 2 attempts)');
  });

  it('says a cancelled resumed attempt stopped at its checkpoint', () => {
    const cancelled = { ...run, status: 'cancelled' as const, attempt: 2, step: undefined, lastCheckpoint: { step: 150, path: '/o/checkpoint-150' } };

    expect(formatFinalMessage({ run: cancelled, losses: [], lostAfterSeconds: 600 }, zh).text).toContain('停在第 150 步');
  });
});

describe('runStatusLabel', () => {
  it.each([
    ['train', '训练中', 'Running'],
    ['deploy', '部署中', 'Deploying'],
    ['dataset', '检查中', 'Checking'],
    ['bench', '测试中', 'Benchmarking'],
  ] as const)('names a running %s run', (kind, chinese, english) => {
    expect(runStatusLabel({ kind, status: 'running' }, zh)).toBe(chinese);
    expect(runStatusLabel({ kind, status: 'running' }, en)).toBe(english);
  });

  it('keeps serving and ended statuses for every kind', () => {
    expect(runStatusLabel({ kind: 'deploy', status: 'serving' }, zh)).toBe('服务中');
    expect(runStatusLabel({ kind: 'bench', status: 'succeeded' }, zh)).toBe('已完成');
  });

  it('shows the kind in the thread root', () => {
    const root = formatThreadRoot({ ...run, kind: 'bench' }, zh);

    expect(root.text).toContain('测试中');
    expect(root.text).not.toContain('训练中');
  });
});

describe('run summary for /status and /runs', () => {
  const config = configSchema.parse({
    slack: { mode: 'console', channel: 'C0TRAIN01' },
    team: { members: [{ id: 'U0ALICE01', name: 'Alice', roles: ['admin'] }] },
    vms: { local: { transport: 'local' } },
    recipes: { demo: { kind: 'train', model: 'tiny-random-phi3', dataset: 'data.jsonl' } },
  });
  const cancelled: RunRecord = { ...run, status: 'cancelled', cancelRequestedBy: 'U0DEMO', failureClass: 'cancelled', failureMessage: 'cancelled by U0DEMO' };

  it('names who cancelled without a failure line', () => {
    const detail = runDetail(cancelled, config, zh);

    expect(detail).toContain('已由 <@U0DEMO> 取消');
    expect(detail).not.toContain('失败原因');
    expect(detail).not.toContain('cancelled by');
  });

  it('localizes the failure class', () => {
    const failed: RunRecord = { ...run, status: 'failed', failureClass: 'out_of_memory', failureMessage: 'CUDA out of memory' };

    expect(runDetail(failed, config, zh)).toContain('*失败原因*：显存不足（CUDA out of memory）');
    expect(runDetail(failed, config, en)).toContain('*Failure*: out of GPU memory (CUDA out of memory)');
    expect(formatEndReason({ ...failed, failureMessage: undefined }, zh)).toBe('*失败原因*：显存不足');
  });

  it('calls loss 损失 in Chinese', () => {
    expect(runLine(run, config, zh)).toContain('损失 1.235');
    expect(runLine(run, config, zh)).not.toContain('loss');
    expect(runLine(run, config, en)).toContain('loss 1.235');
  });

  it('formats loss as the thread does', () => {
    const loss = 6.4297;
    const line = runLine({ ...run, step: 63, maxSteps: 200, loss }, config, zh);

    expect(line).toContain('步数 63/200 · 损失 6.43');
    expect(line).toContain(formatLoss(loss));
    expect(line).not.toContain('6.4297');
  });

  it('shows no progress before the first step', () => {
    const started: RunRecord = { ...run, step: 0, maxSteps: undefined, loss: undefined };

    expect(runLine(started, config, zh)).toContain('尚无进度');
    expect(runLine(started, config, zh)).not.toContain('0/');
    expect(runLine({ ...run, step: undefined, loss: undefined }, config, zh)).toContain('尚无进度');
  });

  it('names a running deployment 部署中', () => {
    expect(runLine({ ...run, kind: 'deploy' }, config, zh)).toContain('部署中');
  });
});

describe('formatOutboxItem', () => {
  it('writes progress like the training log', () => {
    const text = formatOutboxItem(
      { key: 'k', type: 'progress', step: 200, maxSteps: 1000, loss: 1.2346, lossChange: -0.0891, learningRate: 0.0002, epoch: 0.4 },
      zh,
    );

    expect(text).toBe('步数 200/1000 · 损失 1.235（较上次 -0.089）· 学习率 2.00e-4 · 轮次 0.40');
  });

  it('labels the change since the last reply', () => {
    const text = formatOutboxItem({ key: 'k', type: 'progress', step: 60, maxSteps: 200, loss: 6.43, lossChange: -0.2086, learningRate: 0.0002, epoch: 1 }, en);

    expect(text).toContain('loss 6.43 (-0.209 since the last update)');
  });
});

describe('formatLossChange', () => {
  it('uses the decimals of the loss', () => {
    expect(formatLossChange(-0.2086, 6.43)).toBe('-0.209');
    expect(formatLossChange(-0.07624, 2.98)).toBe('-0.076');
    expect(formatLossChange(0.007494, 6.3)).toBe('+0.007');
    expect(formatLossChange(0.5, 12.5)).toBe('+0.50');
  });

  it('shows no sign for no change', () => {
    expect(formatLossChange(0.00001, 6.3)).toBe('±0');
    expect(formatLossChange(0, 0)).toBe('±0');
  });

  it('leaves out the change on the first reply', () => {
    const text = formatOutboxItem({ key: 'k', type: 'progress', step: 10, maxSteps: 1000, loss: 2, learningRate: 0.0002, epoch: 0.02 }, en);

    expect(text).toBe('Step 10/1000 · loss 2 · lr 2.00e-4 · epoch 0.02');
  });
});

describe('formatFinalMessage', () => {
  it('reports success with duration, loss, adapter and sparkline', () => {
    const final = formatFinalMessage(
      { run: { ...run, status: 'succeeded', endedAt: '2026-12-07T10:30:00+08:00', outputPath: '/home/ml/trainops/runs/42/output' }, losses: [3, 2, 1.5, 1.2], lostAfterSeconds: 600 },
      zh,
    );

    expect(final.text).toContain('用时 1 小时 30 分');
    expect(final.text).toContain('最终损失 1.235');
    expect(final.text).toContain('`/home/ml/trainops/runs/42/output`');
    expect(final.text).toContain('损失曲线：█▄▂▁');
  });

  it('names who cancelled and the last checkpoint', () => {
    const final = formatFinalMessage(
      { run: { ...run, status: 'cancelled', cancelRequestedBy: 'U0BOB0001', lastCheckpoint: { step: 150, path: '/o/checkpoint-150' } }, losses: [], lostAfterSeconds: 600 },
      zh,
    );

    expect(final.text).toContain('已取消（<@U0BOB0001>）');
    expect(final.text).toContain('`/o/checkpoint-150`');
  });

  it('names the failure class', () => {
    const final = formatFinalMessage({ run: { ...run, status: 'failed', failureClass: 'out_of_memory', failureMessage: 'CUDA out of memory' }, losses: [], lostAfterSeconds: 600 }, zh);

    expect(final.text).toBe('❌ 训练失败（显存不足）：CUDA out of memory');
  });
});

describe('run reporting helpers', () => {
  it('estimates the remaining time from the step rate', () => {
    expect(estimateRemainingMs(run)).toBe(80 * 60_000);
    expect(estimateRemainingMs({ ...run, stepRateOrigin: undefined })).toBeUndefined();
  });

  it.each([
    [5_000, '5 秒'],
    [125_000, '2 分 5 秒'],
    [3 * 3600_000 + 60_000, '3 小时 1 分'],
    [50 * 3600_000, '2 天 2 小时'],
  ])('formats %i ms as %s', (ms, text) => {
    expect(formatDuration(ms, zh)).toBe(text);
  });

  it('draws a sparkline', () => {
    expect(sparkline([1, 2, 3, 4, 5, 6, 7, 8])).toBe('▁▂▃▄▅▆▇█');
    expect(sparkline([2, 2, 2])).toBe('▄▄▄');
    expect(sparkline([])).toBe('');
    expect(sparkline(Array.from({ length: 300 }, (_, index) => 300 - index), 30)).toHaveLength(30);
  });

  it.each([
    [1, 20, [5, 10, 15, 20]],
    [1, 6, [1, 2, 3, 4, 5, 6]],
    [0, 1000, [0, 200, 400, 600, 800, 1000]],
    [2.7, 3.3, [3]],
  ])('puts step ticks for %d to %d on whole steps', (min, max, ticks) => {
    expect(stepTicks(min, max)).toEqual(ticks);
  });

  it('renders the loss chart as PNG', () => {
    const png = renderLossChart(
      Array.from({ length: 50 }, (_, index) => ({ step: index + 1, loss: 3 / (index + 1), learningRate: 0.0002 * (1 - index / 50) })),
      '#42 medical-phi4',
    );

    expect(png?.subarray(1, 4).toString()).toBe('PNG');
    expect(renderLossChart([{ step: 1 }], 'empty')).toBeUndefined();
  });

  it('labels chart axes in the run locale', () => {
    expect(chartLabels(zh, 'Noto Sans CJK SC')).toEqual({ loss: '损失', learningRate: '学习率', step: '步数' });
    expect(chartLabels(en, undefined)).toEqual({ loss: 'loss', learningRate: 'lr', step: 'step' });
    const png = renderLossChart([{ step: 1, loss: 2 }, { step: 2, loss: 1.5 }], '#42', chartLabels(zh, 'Noto Sans CJK SC'));
    expect(png?.subarray(1, 4).toString()).toBe('PNG');
  });

  it('falls back to English labels without a CJK font', () => {
    expect(chartLabels(zh, undefined)).toEqual(ENGLISH_CHART_LABELS);
    expect(findCjkFontFamily(['DejaVu Sans', 'Noto Sans CJK SC'])).toBe('Noto Sans CJK SC');
    expect(findCjkFontFamily(['DejaVu Sans'])).toBeUndefined();
  });

  it('keeps the state machine one way', () => {
    expect(canTransition('queued', 'starting_vm')).toBe(true);
    expect(canTransition('running', 'succeeded')).toBe(true);
    expect(canTransition('succeeded', 'running')).toBe(false);
    expect(canTransition('failed', 'restarting')).toBe(true);
    expect(canTransition('succeeded', 'restarting')).toBe(false);
    expect(canTransition('running', 'running')).toBe(true);
  });

  it('has every run message in both locales', () => {
    const missing = findMissingKeys();

    expect(missing.missingInEn.filter((key) => key.startsWith('runs.'))).toEqual([]);
    expect(missing.missingInZh.filter((key) => key.startsWith('runs.'))).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';

import { formatPipedSummary, type PipedTally } from '../../src/bot/console-summary.js';
import { translator } from '../../src/bot/i18n.js';
import type { RunRecord } from '../../src/jobs/run-types.js';

const accepted: PipedTally = { total: 2, rejected: 0, trainsWithoutRun: 0 };

function endedRun(id: string, status: RunRecord['status'], failureClass?: RunRecord['failureClass']): RunRecord {
  return {
    id,
    kind: 'train',
    recipe: 'demo',
    vm: 'local',
    userId: 'U0DEMO',
    channel: 'C0DEMO',
    overrides: {},
    status,
    attempt: 1,
    attempts: [],
    createdAt: '2026-12-07T09:00:00+08:00',
    updatedAt: '2026-12-07T09:05:00+08:00',
    eventOffset: 0,
    ...(failureClass ? { failureClass } : {}),
  };
}

describe('formatPipedSummary', () => {
  it('returns nothing when all went well', () => {
    expect(formatPipedSummary(accepted, [endedRun('1', 'succeeded')], translator('zh-CN'))).toBeUndefined();
  });

  it('names failed and cancelled runs', () => {
    const runs = [endedRun('1', 'failed', 'data_error'), endedRun('2', 'cancelled', 'cancelled'), endedRun('3', 'succeeded')];
    expect(formatPipedSummary(accepted, runs, translator('zh-CN'))).toBe('3 个运行中有 2 个没有成功：#1 demo 失败（数据错误）、#2 demo 已取消。');
    expect(formatPipedSummary(accepted, runs, translator('en'))).toBe('Unsuccessful runs, 2 of 3: #1 demo: Failed (data error), #2 demo: Cancelled.');
  });

  it('names a lost run without a class', () => {
    expect(formatPipedSummary(accepted, [endedRun('4', 'lost')], translator('zh-CN'))).toBe('1 个运行中有 1 个没有成功：#4 demo 失联。');
  });

  it('counts rejected commands and trains without a run', () => {
    const tally: PipedTally = { total: 3, rejected: 1, trainsWithoutRun: 1 };
    expect(formatPipedSummary(tally, [], translator('zh-CN'))).toBe('输入了 3 条命令，其中 1 条被拒绝或出错、1 条 /train 没有启动运行。');
    expect(formatPipedSummary(tally, [], translator('en'))).toBe('Problems among 3 piped commands (rejected or failed: 1, /train without a run: 1).');
  });
});

/**
 * Chained and RL stages in a run thread. Start and step events of an SFT stage and a GRPO
 * stage go through applyRunEvents. The root, the progress replies and the final message
 * then show the stage, the reward and one summary for the chain.
 */
import { describe, expect, it } from 'vitest';

import { translator } from '../../src/bot/i18n.js';
import { applyRunEvents, type TrainerEvent } from '../../src/jobs/run-progress.js';
import { formatFinalMessage, formatOutboxItem, formatThreadRoot } from '../../src/jobs/run-reporter.js';
import { chainStageFolders, recordStageEvent, StageStepOffsets } from '../../src/jobs/run-stages.js';
import type { RunRecord } from '../../src/jobs/run-types.js';

const zh = translator('zh-CN');
const en = translator('en');
const policy = { everySeconds: 0 };

const run: RunRecord = {
  id: '7',
  kind: 'train',
  recipe: 'sft-rl-phi4',
  vm: 'yanshi',
  userId: 'U0LINA001',
  channel: 'C0TRAIN01',
  threadTs: '1733300000.000100',
  overrides: {},
  status: 'running',
  attempt: 1,
  attempts: [],
  createdAt: '2026-12-07T09:00:00+08:00',
  updatedAt: '2026-12-07T09:00:00+08:00',
  startedAt: '2026-12-07T09:00:00+08:00',
  eventOffset: 0,
};

function at(second: number): string {
  return `2026-12-07T09:00:${String(second).padStart(2, '0')}+08:00`;
}

function start(stage: string, index: number, second: number): TrainerEvent {
  return { type: 'start', time: at(second), stage, stage_index: index, stage_count: 2, max_steps: 4, resumed_from: null };
}

function sftStep(step: number, second: number, loss: number): TrainerEvent {
  return { type: 'step', time: at(second), step, max_steps: 4, epoch: step / 4, loss, learning_rate: 2e-4 };
}

function grpoStep(step: number, second: number, reward: number): TrainerEvent {
  return {
    type: 'step',
    time: at(second),
    step,
    max_steps: 4,
    epoch: step / 8,
    loss: 0.001,
    learning_rate: 5e-6,
    reward_mean: reward,
    reward_std: 0.25,
    kl: 0.0123,
    completion_length: 96,
  };
}

function apply(record: RunRecord, events: TrainerEvent[]) {
  const applied = applyRunEvents(record, events, policy);
  return { record: { ...record, ...applied.patch }, replies: applied.replies };
}

describe('chained SFT then GRPO in the thread', () => {
  const sft = apply(run, [start('sft', 0, 1), sftStep(1, 2, 2.5), sftStep(4, 3, 1.75)]);
  const grpo = apply(sft.record, [start('grpo', 1, 10), grpoStep(1, 11, 0.25), grpoStep(4, 12, 0.625)]);

  it('shows the stage in the root during each stage', () => {
    const sftRoot = JSON.stringify(formatThreadRoot(sft.record, zh).blocks);
    const grpoRoot = JSON.stringify(formatThreadRoot(grpo.record, zh).blocks);

    expect(sftRoot).toContain('*阶段 1/2*：SFT');
    expect(sftRoot).toContain('*损失*：1.75');
    expect(grpoRoot).toContain('*阶段 2/2*：GRPO');
    expect(grpoRoot).toContain('*奖励*：0.625');
    expect(grpoRoot).not.toContain('*损失*');
  });

  it('shows a reward of — before the RL stage reports', () => {
    const started = apply(sft.record, [start('grpo', 1, 10)]).record;

    expect(JSON.stringify(formatThreadRoot(started, zh).blocks)).toContain('*奖励*：—');
  });

  it('reports reward, spread and KL in RL progress replies', () => {
    const lines = grpo.replies.map((item) => formatOutboxItem(item, zh));

    expect(lines).toEqual([
      '[GRPO] 步数 1/4 · 奖励 0.25（标准差 0.25）· KL 0.0123 · 学习率 5.00e-6',
      '[GRPO] 步数 4/4 · 奖励 0.625（标准差 0.25）· KL 0.0123 · 学习率 5.00e-6',
    ]);
    expect(sft.replies.map((item) => formatOutboxItem(item, zh))[0]).toContain('[SFT] 步数 1/4 · 损失 2.5');
  });

  it('summarises both stages in one final message', () => {
    const ended: RunRecord = { ...grpo.record, status: 'succeeded', endedAt: '2026-12-07T09:05:00+08:00', outputPath: '/runs/7/output/1-grpo' };

    const text = formatFinalMessage({ run: ended, losses: [2.5, 1.75, 0.001], lostAfterSeconds: 600 }, zh).text;

    expect(text).toContain('✅ 训练完成');
    expect(text).toContain('• 阶段 1/2 SFT：4 步，最终损失 1.75');
    expect(text).toContain('• 阶段 2/2 GRPO：4 步，最终奖励 0.625，损失 0.001');
    expect(formatFinalMessage({ run: ended, losses: [], lostAfterSeconds: 600 }, en).text).toContain(
      '• Stage 2/2 GRPO: 4 steps, final reward 0.625, loss 0.001',
    );
  });

  it('keys replies by stage, since each stage counts steps from 1', () => {
    const sftKeys = sft.replies.map((item) => item.key);
    const grpoKeys = grpo.replies.map((item) => item.key);

    expect(sftKeys).toEqual(['run:7:progress:a1:s1', 'run:7:progress:a1:s4']);
    expect(grpoKeys).toEqual(['run:7:progress:a1:g1:s1', 'run:7:progress:a1:g1:s4']);
  });

  it('keeps the SFT summary when a restart resumes at the RL stage', () => {
    const resumed = apply({ ...grpo.record, attempt: 2 }, [start('grpo', 1, 30), grpoStep(4, 31, 0.75)]).record;

    expect(resumed.stages?.map((summary) => [summary.stage, summary.step])).toEqual([
      ['sft', 4],
      ['grpo', 4],
    ]);
    expect(resumed.stages?.[1]?.rewardMean).toBe(0.75);
  });
});

describe('recordStageEvent', () => {
  it('ignores events of a trainer that names no stage', () => {
    expect(recordStageEvent(undefined, { type: 'start', max_steps: 4 })).toBeUndefined();
    expect(recordStageEvent(undefined, sftStep(1, 1, 2))).toBeUndefined();
  });

  it('shows no stage field or summary for a plain SFT run', () => {
    const plain = apply(run, [{ ...start('sft', 0, 1), stage_count: 1 }, sftStep(4, 2, 1.5)]).record;
    const ended: RunRecord = { ...plain, status: 'succeeded', endedAt: at(3) };

    expect(JSON.stringify(formatThreadRoot(plain, zh).blocks)).not.toContain('阶段');
    expect(formatFinalMessage({ run: ended, losses: [1.5], lostAfterSeconds: 600 }, zh).text).not.toContain('各阶段');
  });

  it('shows the stage of a single DPO run', () => {
    const dpo = apply(run, [{ ...start('dpo', 0, 1), stage_count: 1 }, grpoStep(1, 2, 0.125)]).record;

    expect(JSON.stringify(formatThreadRoot(dpo, en).blocks)).toContain('*Stage 1/1*: DPO');
    expect(JSON.stringify(formatThreadRoot(dpo, en).blocks)).toContain('*Reward*: 0.125');
  });
});

describe('StageStepOffsets', () => {
  it('draws later stages after earlier ones and keeps a resumed stage in place', () => {
    const offsets = new StageStepOffsets();

    offsets.start(0);
    const sft = [1, 2, 3].map((step) => offsets.step(step));
    offsets.start(1);
    const grpo = [1, 2].map((step) => offsets.step(step));
    offsets.start(1);
    const resumed = [2, 3].map((step) => offsets.step(step));

    expect(sft).toEqual([1, 2, 3]);
    expect(grpo).toEqual([4, 5]);
    expect(resumed).toEqual([5, 6]);
  });

  it('leaves steps of a run without stages as they are', () => {
    const offsets = new StageStepOffsets();

    offsets.start(undefined);

    expect(offsets.step(7)).toBe(7);
  });
});

describe('chainStageFolders', () => {
  it('lists stage folders of a chain, latest stage first', () => {
    expect(chainStageFolders(['0-sft', 'completed', '1-grpo', 'checkpoint-3', ''])).toEqual(['1-grpo', '0-sft']);
  });

  it('finds none in a plain run', () => {
    expect(chainStageFolders(['checkpoint-3', 'adapter_config.json', 'completed'])).toEqual([]);
  });
});

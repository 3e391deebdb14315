import type { CatalogPair } from '../i18n.js';

/** Messages of chained and RL stages in a run thread: the stage field, rewards, the chain summary. */
export const rlMessages: CatalogPair = {
  'zh-CN': {
    'rl.root.stage': '*阶段 {index}/{count}*：{stage}',
    'rl.root.reward': '*奖励*：{reward}',
    'rl.progress': '步数 {step}/{maxSteps} · 奖励 {reward}（标准差 {rewardStd}）· KL {kl} · 学习率 {learningRate}',
    'rl.end.chain': '各阶段：',
    'rl.end.stageLoss': '• 阶段 {index}/{count} {stage}：{step} 步，最终损失 {loss}',
    'rl.end.stageReward': '• 阶段 {index}/{count} {stage}：{step} 步，最终奖励 {reward}，损失 {loss}',
  },
  en: {
    'rl.root.stage': '*Stage {index}/{count}*: {stage}',
    'rl.root.reward': '*Reward*: {reward}',
    'rl.progress': 'Step {step}/{maxSteps} · reward {reward} (std {rewardStd}) · KL {kl} · lr {learningRate}',
    'rl.end.chain': 'Stages:',
    'rl.end.stageLoss': '• Stage {index}/{count} {stage}: {step} steps, final loss {loss}',
    'rl.end.stageReward': '• Stage {index}/{count} {stage}: {step} steps, final reward {reward}, loss {loss}',
  },
};

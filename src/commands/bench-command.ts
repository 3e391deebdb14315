import { benchProcessCount } from '../jobs/bench-worker.js';
import { parseBench, type BenchCommand } from './bench-parse.js';
import { defineCommand } from './registry.js';

/** `/bench comm on <vm>`: queues the all-to-all and all-reduce benchmark on the VM's GPUs. */
export const benchCommand = defineCommand<BenchCommand>({
  name: 'bench',
  aliases: ['基准测试'],
  helpKey: 'bench.help',
  parse: parseBench,
  async handle(command, ctx, deps) {
    const run = await deps.enqueue({ kind: 'bench', recipe: command.recipe, vm: command.vm, userId: ctx.userId, channel: ctx.channel, overrides: {} });
    const processes = benchProcessCount(deps.config.vms[command.vm] ?? { gpus: 0 });
    ctx.logger.info({ runId: run.id, vm: run.vm }, 'comm benchmark queued');
    await ctx.respond(ctx.t('bench.queued', { id: run.id, vm: run.vm, gpus: processes }));
  },
});

import { contextLine, divider, header, section } from '../bot/blocks.js';
import { isParseError, parseError } from './parse-error.js';
import { defineCommand } from './registry.js';
import { runLine } from './run-summary.js';
import { tokenize } from './tokenize.js';

/** `/runs [mine]`: active runs and the most recent ended ones, ephemerally. */
export interface RunsCommand {
  readonly mineOnly: boolean;
}

const RECENT_SHOWN = 10;

export const runsCommand = defineCommand<RunsCommand>({
  name: 'runs',
  aliases: ['运行', '列表'],
  helpKey: 'core.help.runs',
  parse(text) {
    const tokens = tokenize(text);
    if (isParseError(tokens)) return tokens;
    if (tokens.length === 0) return { mineOnly: false };
    if (tokens.length === 1 && ['mine', '我的'].includes(tokens[0]!.toLowerCase())) return { mineOnly: true };
    return parseError('core.error.unexpected_word', { word: tokens[0]!.slice(0, 40) });
  },
  async handle(command, ctx, deps) {
    const keep = (userId: string): boolean => !command.mineOnly || userId === ctx.userId;
    const active = (await deps.runStore.listActive()).filter((run) => keep(run.userId)).sort((a, b) => Number(b.id) - Number(a.id));
    const ended = (await deps.runStore.listRecent(RECENT_SHOWN * 3))
      .filter((run) => keep(run.userId) && !active.some((other) => other.id === run.id))
      .slice(0, RECENT_SHOWN);

    if (active.length === 0 && ended.length === 0) {
      await ctx.respond(ctx.t('core.runs.none'));
      return;
    }

    const activeText = active.length > 0 ? active.map((run) => runLine(run, deps.config, ctx.t)).join('\n') : ctx.t('core.runs.none_active');
    const blocks = [header(ctx.t('core.runs.title')), section(`${ctx.t('core.runs.active')}\n${activeText}`)];
    if (ended.length > 0) {
      blocks.push(divider(), section(`${ctx.t('core.runs.recent')}\n${ended.map((run) => runLine(run, deps.config, ctx.t)).join('\n')}`));
    }
    blocks.push(contextLine(ctx.t('core.help.status')));

    const text = [ctx.t('core.runs.title'), activeText, ...ended.map((run) => runLine(run, deps.config, ctx.t))].join('\n');
    await ctx.respond({ text, blocks });
  },
});

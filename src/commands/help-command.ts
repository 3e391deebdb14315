import { contextLine, header, section } from '../bot/blocks.js';
import { isParseError, parseError } from './parse-error.js';
import { defineCommand } from './registry.js';
import { exampleNames } from './examples.js';
import { suggestName } from '../config/suggest.js';
import { tokenize } from './tokenize.js';
import { DEFAULT_LOG_LINES } from './logs-command.js';

/** `/help [command]`: every registered command with usage and examples, in the person's locale. */
export interface HelpCommand {
  readonly topic?: string;
}

export const helpCommand = defineCommand<HelpCommand>({
  name: 'help',
  aliases: ['帮助', '?', '？'],
  helpKey: 'core.help.help',
  parse(text) {
    const tokens = tokenize(text);
    if (isParseError(tokens)) return tokens;
    if (tokens.length > 1) return parseError('core.error.unexpected_word', { word: tokens[1]!.slice(0, 40) });
    return tokens[0] ? { topic: tokens[0] } : {};
  },
  async handle(command, ctx, deps) {
    const placeholders = { recipe: ctx.t('core.help.placeholder_recipe'), vm: ctx.t('core.help.placeholder_vm') };
    const params = { lines: DEFAULT_LOG_LINES, ...exampleNames(deps.config, placeholders) };
    const topic = command.topic ? deps.registry.find(command.topic) : undefined;

    if (command.topic && topic === undefined) {
      const names = deps.registry.list().map((spec) => spec.name);
      const suggestion = suggestName(command.topic.replace(/^[/／]/, ''), names);
      await ctx.respond(
        ctx.t('core.help.unknown', {
          name: command.topic.slice(0, 40),
          hint: suggestion ? ctx.t('core.error.did_you_mean', { suggestion: `/help ${suggestion}` }) : '',
          valid: names.map((name) => `/${name}`).join(' '),
        }),
      );
      return;
    }

    const specs = topic ? [topic] : deps.registry.list();
    const entries = specs.map((spec) => ctx.t(spec.helpKey, params));
    const title = topic ? ctx.t('core.help.topic_title', { name: topic.name }) : ctx.t('core.help.title');
    const footer = ctx.t('core.help.footer');
    await ctx.respond({
      text: [title, ...entries, footer].join('\n\n'),
      blocks: [header(title), ...entries.map((entry) => section(entry)), contextLine(footer)],
    });
  },
});

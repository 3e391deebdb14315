/**
 * Draws a run's loss (left axis) and learning rate (right axis) against the step as a
 * PNG with @napi-rs/canvas, for the final message of a run.
 *
 * The axis labels come from the run's locale (`chartLabels`). Chinese labels need a CJK
 * font on the bot machine, so without one the labels fall back to the field's English
 * terms (`loss`, `lr`, `step`), because a chart with missing glyphs is worse than one
 * in English. The Slack title of the file is always localized.
 */
import { createCanvas, GlobalFonts, type SKRSContext2D } from '@napi-rs/canvas';

import type { Translate } from '../bot/i18n.js';

/** Axis labels drawn inside the chart. */
export interface ChartLabels {
  readonly loss: string;
  readonly learningRate: string;
  readonly step: string;
}

export const ENGLISH_CHART_LABELS: ChartLabels = { loss: 'loss', learningRate: 'lr', step: 'step' };

/**
 * Families that cover Simplified Chinese, as fontconfig names them on common Linux
 * images (fonts-noto-cjk, fonts-wqy-*, Source Han) and on macOS and Windows.
 * NOTE: matched by name only, so a CJK font with another family name leaves the labels
 * in English.
 */
const CJK_FAMILY = /CJK|Noto Sans SC|Noto Serif SC|WenQuanYi|Source Han|Droid Sans Fallback|PingFang|Hiragino Sans GB|Microsoft YaHei|SimHei|SimSun/i;

/** Returns the first installed CJK font family that @napi-rs/canvas found, if any. */
export function findCjkFontFamily(families: readonly string[] = GlobalFonts.families.map((font) => font.family)): string | undefined {
  return families.find((family) => CJK_FAMILY.test(family));
}

/**
 * Returns the axis labels in the translator's language, or the English ones when a
 * label needs glyphs beyond Latin and no CJK font is installed.
 */
export function chartLabels(t: Translate, cjkFontFamily: string | undefined = findCjkFontFamily()): ChartLabels {
  const labels = { loss: t('runs.chart.loss'), learningRate: t('runs.chart.learningRate'), step: t('runs.chart.step') };
  const needsCjk = Object.values(labels).some((label) => /[^\u0000-\u024f]/.test(label));
  return needsCjk && cjkFontFamily === undefined ? ENGLISH_CHART_LABELS : labels;
}

export interface ChartPoint {
  step: number;
  loss?: number;
  learningRate?: number;
}

const WIDTH = 900;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 80, top: 40, bottom: 50 };
const LOSS_COLOR = '#d9480f';
const LR_COLOR = '#1c7ed6';
const GRID_COLOR = '#e9ecef';
const TEXT_COLOR = '#343a40';
const TICKS = 5;

/** Returns the PNG bytes, or undefined when no point has a finite loss. */
export function renderLossChart(points: readonly ChartPoint[], title: string, labels: ChartLabels = ENGLISH_CHART_LABELS): Buffer | undefined {
  const lossPoints = points.filter((point) => Number.isFinite(point.loss));
  if (lossPoints.length === 0) return undefined;
  const lrPoints = points.filter((point) => Number.isFinite(point.learningRate));

  const canvas = createCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, WIDTH, HEIGHT);

  const steps = points.map((point) => point.step);
  const stepRange = paddedRange(Math.min(...steps), Math.max(...steps), false);
  const lossRange = paddedRange(
    Math.min(...lossPoints.map((point) => point.loss as number)),
    Math.max(...lossPoints.map((point) => point.loss as number)),
    true,
  );
  const lrRange = lrPoints.length > 0 ? paddedRange(0, Math.max(...lrPoints.map((point) => point.learningRate as number)), false) : undefined;

  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (step: number): number => MARGIN.left + ((step - stepRange.min) / (stepRange.max - stepRange.min)) * plotWidth;
  const y = (value: number, range: { min: number; max: number }): number =>
    MARGIN.top + plotHeight - ((value - range.min) / (range.max - range.min)) * plotHeight;

  drawGrid(context, plotWidth, plotHeight);
  context.font = '13px sans-serif';
  context.fillStyle = TEXT_COLOR;

  context.textAlign = 'center';
  for (const step of stepTicks(stepRange.min, stepRange.max)) {
    context.fillText(String(step), x(step), HEIGHT - MARGIN.bottom + 18);
  }

  for (let tick = 0; tick <= TICKS; tick += 1) {
    const loss = lossRange.min + ((lossRange.max - lossRange.min) * tick) / TICKS;
    context.textAlign = 'right';
    context.fillStyle = LOSS_COLOR;
    context.fillText(formatTick(loss), MARGIN.left - 8, y(loss, lossRange) + 4);

    if (lrRange) {
      const lr = lrRange.min + ((lrRange.max - lrRange.min) * tick) / TICKS;
      context.textAlign = 'left';
      context.fillStyle = LR_COLOR;
      context.fillText(lr.toExponential(1), WIDTH - MARGIN.right + 8, y(lr, lrRange) + 4);
    }
    context.fillStyle = TEXT_COLOR;
  }

  drawSeries(context, lossPoints.map((point) => [x(point.step), y(point.loss as number, lossRange)]), LOSS_COLOR, 2.5);
  if (lrRange) drawSeries(context, lrPoints.map((point) => [x(point.step), y(point.learningRate as number, lrRange)]), LR_COLOR, 1.5);

  context.textAlign = 'left';
  context.font = 'bold 15px sans-serif';
  context.fillStyle = TEXT_COLOR;
  context.fillText(title, MARGIN.left, 24);
  const cjkFamily = findCjkFontFamily();
  context.font = cjkFamily ? `13px "${cjkFamily}", sans-serif` : '13px sans-serif';
  context.textAlign = 'center';
  context.fillText(labels.step, MARGIN.left + plotWidth / 2, HEIGHT - 12);
  context.fillStyle = LOSS_COLOR;
  context.textAlign = 'left';
  context.fillText(labels.loss, 12, MARGIN.top - 10);
  if (lrRange) {
    context.fillStyle = LR_COLOR;
    context.textAlign = 'right';
    context.fillText(labels.learningRate, WIDTH - 12, MARGIN.top - 10);
  }

  return canvas.toBuffer('image/png');
}

/**
 * Returns whole-number step ticks within [min, max], spaced 1, 2 or 5 times a power of
 * ten so that at most TICKS + 1 of them fit.
 */
export function stepTicks(min: number, max: number): number[] {
  const rough = Math.max(max - min, 1) / TICKS;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const interval = Math.max(1, [1, 2, 5, 10].map((factor) => factor * magnitude).find((candidate) => candidate >= rough) ?? 10 * magnitude);
  const ticks: number[] = [];
  for (let tick = Math.ceil(min / interval) * interval; tick <= max; tick += interval) ticks.push(tick);
  return ticks;
}

function drawGrid(context: SKRSContext2D, plotWidth: number, plotHeight: number): void {
  context.strokeStyle = GRID_COLOR;
  context.lineWidth = 1;
  for (let tick = 0; tick <= TICKS; tick += 1) {
    const gridY = MARGIN.top + (plotHeight * tick) / TICKS;
    context.beginPath();
    context.moveTo(MARGIN.left, gridY);
    context.lineTo(MARGIN.left + plotWidth, gridY);
    context.stroke();
  }
}

function drawSeries(context: SKRSContext2D, coordinates: Array<[number, number]>, color: string, lineWidth: number): void {
  if (coordinates.length === 0) return;
  context.strokeStyle = color;
  context.fillStyle = color;
  context.lineWidth = lineWidth;
  context.beginPath();
  for (const [index, [pointX, pointY]] of coordinates.entries()) {
    if (index === 0) context.moveTo(pointX, pointY);
    else context.lineTo(pointX, pointY);
  }
  context.stroke();
  // A single point draws no line, so mark it.
  if (coordinates.length === 1) {
    const [pointX, pointY] = coordinates[0] as [number, number];
    context.beginPath();
    context.arc(pointX, pointY, 3, 0, Math.PI * 2);
    context.fill();
  }
}

/** Returns a non-empty range (±10% around a single value), padded by 5% on both ends when `pad` is set. */
function paddedRange(min: number, max: number, pad: boolean): { min: number; max: number } {
  if (min === max) {
    const delta = Math.abs(min) * 0.1 || 1;
    return { min: min - delta, max: max + delta };
  }
  const margin = pad ? (max - min) * 0.05 : 0;
  return { min: min - margin, max: max + margin };
}

function formatTick(value: number): string {
  if (Math.abs(value) >= 1000 || Number.isInteger(value)) return String(Math.round(value));
  return value.toPrecision(3);
}

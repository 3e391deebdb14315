/**
 * Draws bus bandwidth against message size, one line per collective, as a PNG with
 * @napi-rs/canvas. The x axis is log2 of the size because sizes double from step to
 * step. The loss chart (`loss-chart.ts`) plots a linear step axis with fixed loss and
 * learning-rate series, so it cannot draw this one. Labels are Latin for the same reason
 * as there: the bot machine may have no CJK font.
 */
import { createCanvas } from '@napi-rs/canvas';

import { formatBytes, type BenchResult } from './bench-format.js';

const WIDTH = 900;
const HEIGHT = 420;
const MARGIN = { left: 70, right: 30, top: 50, bottom: 50 };
const COLORS = ['#d9480f', '#1c7ed6', '#2b8a3e', '#862e9c'];
const GRID_COLOR = '#e9ecef';
const TEXT_COLOR = '#343a40';
const TICKS = 5;

/** Returns the PNG bytes, or undefined when there is nothing to draw. */
export function renderBandwidthChart(results: readonly BenchResult[], title: string): Buffer | undefined {
  const points = results.filter((result) => result.bytes > 0 && Number.isFinite(result.busbwGbps));
  if (points.length === 0) return undefined;

  const canvas = createCanvas(WIDTH, HEIGHT);
  const context = canvas.getContext('2d');
  context.fillStyle = '#ffffff';
  context.fillRect(0, 0, WIDTH, HEIGHT);

  const logSizes = points.map((point) => Math.log2(point.bytes));
  const minLog = Math.min(...logSizes);
  const maxLog = Math.max(...logSizes) === minLog ? minLog + 1 : Math.max(...logSizes);
  const maxBandwidth = Math.max(...points.map((point) => point.busbwGbps)) * 1.1 || 1;

  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (bytes: number): number => MARGIN.left + ((Math.log2(bytes) - minLog) / (maxLog - minLog)) * plotWidth;
  const y = (bandwidth: number): number => MARGIN.top + plotHeight - (bandwidth / maxBandwidth) * plotHeight;

  context.font = '13px sans-serif';
  for (let tick = 0; tick <= TICKS; tick += 1) {
    const bandwidth = (maxBandwidth * tick) / TICKS;
    context.strokeStyle = GRID_COLOR;
    context.beginPath();
    context.moveTo(MARGIN.left, y(bandwidth));
    context.lineTo(MARGIN.left + plotWidth, y(bandwidth));
    context.stroke();
    context.fillStyle = TEXT_COLOR;
    context.textAlign = 'right';
    context.fillText(bandwidth.toPrecision(3), MARGIN.left - 8, y(bandwidth) + 4);
  }

  const sizes = [...new Set(points.map((point) => point.bytes))].sort((a, b) => a - b);
  const labelEvery = Math.max(1, Math.ceil(sizes.length / 8));
  context.textAlign = 'center';
  for (const [index, size] of sizes.entries()) {
    if (index % labelEvery === 0) context.fillText(formatBytes(size), x(size), HEIGHT - MARGIN.bottom + 18);
  }

  const collectives = [...new Set(points.map((point) => point.collective))];
  for (const [index, collective] of collectives.entries()) {
    const color = COLORS[index % COLORS.length]!;
    const series = points.filter((point) => point.collective === collective).sort((a, b) => a.bytes - b.bytes);
    context.strokeStyle = color;
    context.fillStyle = color;
    context.lineWidth = 2;
    context.beginPath();
    for (const [pointIndex, point] of series.entries()) {
      if (pointIndex === 0) context.moveTo(x(point.bytes), y(point.busbwGbps));
      else context.lineTo(x(point.bytes), y(point.busbwGbps));
    }
    context.stroke();
    for (const point of series) {
      context.beginPath();
      context.arc(x(point.bytes), y(point.busbwGbps), 3, 0, Math.PI * 2);
      context.fill();
    }
    context.textAlign = 'left';
    context.fillText(collective, WIDTH - MARGIN.right - (collectives.length - index) * 140, MARGIN.top - 12);
  }

  context.fillStyle = TEXT_COLOR;
  context.font = 'bold 15px sans-serif';
  context.textAlign = 'left';
  context.fillText(title, MARGIN.left, 22);
  context.font = '13px sans-serif';
  context.textAlign = 'center';
  context.fillText('message size', MARGIN.left + plotWidth / 2, HEIGHT - 12);
  context.textAlign = 'left';
  context.fillText('busbw GB/s', 8, MARGIN.top - 12);

  return canvas.toBuffer('image/png');
}

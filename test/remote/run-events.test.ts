import { describe, expect, it } from 'vitest';

import { parseEventChunk, parseEventLine } from '../../src/remote/run-events.js';

const base = { v: 1, time: '2026-12-04T20:00:00+08:00', run_id: '42' };
const line = (event: object): string => `${JSON.stringify({ ...base, ...event })}\n`;

const START = { type: 'start', model: 'tiny-random-phi3', world_size: 1, train_rows: 8, max_steps: 4, num_epochs: 1, resumed_from: null };
const STEP = { type: 'step', step: 1, max_steps: 4, epoch: 0.25, loss: 2.5, learning_rate: 1e-4 };
const END = { type: 'end', status: 'succeeded', step: 4, output_path: '/runs/42/output' };

describe('parseEventChunk', () => {
  it('parses complete lines', () => {
    const buffer = Buffer.from(line(START) + line(STEP) + line(END));
    const chunk = parseEventChunk(buffer, 0);
    expect(chunk.events.map((event) => event.type)).toEqual(['start', 'step', 'end']);
    expect(chunk.newOffset).toBe(buffer.length);
    expect(chunk.malformed).toEqual([]);
  });

  it('leaves a partial last line', () => {
    const complete = line(START);
    const partial = line(STEP).slice(0, 20);
    const chunk = parseEventChunk(Buffer.from(complete + partial), 100);
    expect(chunk.events).toHaveLength(1);
    expect(chunk.newOffset).toBe(100 + Buffer.byteLength(complete));
  });

  it('resumes exactly at newOffset', () => {
    const text = Buffer.from(line(START) + line({ ...STEP, note: '训练 ünïcødé' }) + line(END));
    const cut = 70;
    const first = parseEventChunk(text.subarray(0, cut), 0);
    const second = parseEventChunk(text.subarray(first.newOffset), first.newOffset);
    expect([...first.events, ...second.events].map((event) => event.type)).toEqual(['start', 'step', 'end']);
    expect(second.newOffset).toBe(text.length);
  });

  it('skips a malformed line and continues', () => {
    const bad = '{"v":1,"type":"step", broken\n';
    const buffer = Buffer.from(line(START) + bad + line(END));
    const chunk = parseEventChunk(buffer, 0);
    expect(chunk.events.map((event) => event.type)).toEqual(['start', 'end']);
    expect(chunk.malformed).toHaveLength(1);
    expect(chunk.malformed[0]?.offset).toBe(Buffer.byteLength(line(START)));
    expect(chunk.newOffset).toBe(buffer.length);
  });

  it('reports schema violations as malformed', () => {
    const chunk = parseEventChunk(Buffer.from(line({ ...STEP, step: 'one' })), 0);
    expect(chunk.events).toEqual([]);
    expect(chunk.malformed[0]?.reason).toMatch(/step/);
  });

  it('ignores blank and CRLF lines', () => {
    const chunk = parseEventChunk(Buffer.from(`\n${line(START).replace('\n', '\r\n')}\n`), 0);
    expect(chunk.events).toHaveLength(1);
    expect(chunk.malformed).toEqual([]);
  });
});

describe('parseEventLine', () => {
  it('keeps unknown fields', () => {
    const parsed = parseEventLine(line({ ...STEP, future_field: 7 }).trim());
    expect(parsed).toMatchObject({ event: { type: 'step', future_field: 7 } });
  });

  it('returns unknown for a new type', () => {
    const parsed = parseEventLine(line({ type: 'profile', ms: 3 }).trim());
    expect(parsed).toMatchObject({ event: { type: 'unknown', originalType: 'profile' } });
  });

  it('returns unknown for a later version', () => {
    const parsed = parseEventLine(JSON.stringify({ ...base, ...STEP, v: 2 }));
    expect(parsed).toMatchObject({ event: { type: 'unknown', version: 2 } });
  });

  it('reads Python NaN loss as null', () => {
    const parsed = parseEventLine(line(STEP).trim().replace('"loss":2.5', '"loss":NaN'));
    expect(parsed).toMatchObject({ event: { type: 'step', loss: null } });
  });

  it('parses a failed end with error', () => {
    const parsed = parseEventLine(
      line({ type: 'end', status: 'failed', step: 2, output_path: null, error: { type: 'out_of_memory', message: 'CUDA OOM' } }).trim(),
    );
    expect(parsed).toMatchObject({ event: { type: 'end', status: 'failed', error: { type: 'out_of_memory' } } });
  });

  it('rejects a non-object line', () => {
    expect(parseEventLine('[1,2]')).toEqual({ reason: 'not a JSON object' });
  });
});

/**
 * The clock as a parameter: code that reads the time or waits takes a `Clock`, so tests
 * can pass a `ManualClock` and never depend on wall-clock timing.
 */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock that moves only when a test calls `advance` or `set`; sleepers wake as it passes their time. */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: Array<{ until: number; wake: () => void }> = [];

  constructor(start: Date | string = '2026-12-07T09:00:00+08:00') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.sleepers.push({ until: this.current + ms, wake: resolve });
      this.wakeDue();
    });
  }

  advance(ms: number): void {
    this.current += ms;
    this.wakeDue();
  }

  set(time: Date | string): void {
    this.current = new Date(time).getTime();
    this.wakeDue();
  }

  private wakeDue(): void {
    const due = this.sleepers.filter((sleeper) => sleeper.until <= this.current);
    this.sleepers = this.sleepers.filter((sleeper) => sleeper.until > this.current);
    for (const sleeper of due) sleeper.wake();
  }
}

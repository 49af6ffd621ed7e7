import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Synchronous work one request may do before letting the event loop run.
 * Three 50,000-lot uploads yielding at the same moment run their turns back
 * to back in one check phase, so a poll waits at most about three budgets.
 */
export const TURN_BUDGET_MS = 5;

/**
 * Splits a long computation on the event loop (building, validating and
 * storing a 50,000-lot body) into turns: `due()` says the current turn has
 * used its budget, `next()` lets pending I/O — polls — run before going on.
 * A check costs one clock read, so callers may check once per item:
 * `if (turns.due()) await turns.next();` (an await per item would cost a
 * microtask each).
 */
export class Turns {
  private started = performance.now();
  /** Turns given back to the event loop so far. */
  yields = 0;

  constructor(private readonly budgetMs = TURN_BUDGET_MS) {}

  due(): boolean {
    return performance.now() - this.started >= this.budgetMs;
  }

  async next(): Promise<void> {
    await nextTurn();
    this.yields++;
    this.started = performance.now();
  }
}

/** Time check-mysql keeps back at the end of its deadline to load the file logger, log and signal keepalived. */
export const CHECK_RESERVE_MS = 500;

export interface CheckBudget {
  readonly retries: number;
  readonly retryIntervalMs: number;
  /** One attempt: connect timeout + query timeout. */
  readonly attemptBudgetMs: number;
}

// The smallest deadline in which every retry still runs when mysqld refuses at once (a restart in progress);
// a hung mysqld makes each attempt slower, and then the deadline cuts the retries short instead.
export function minimumDeadlineMs(budget: CheckBudget, reserveMs = CHECK_RESERVE_MS): number {
  return budget.retries * budget.retryIntervalMs + budget.attemptBudgetMs + reserveMs;
}

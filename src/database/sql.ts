import type { EntityManager } from 'typeorm';

/** Whatever runs SQL: the data source, its manager, or a transaction's manager. */
export interface SqlRunner {
  query(sql: string, parameters?: unknown[]): Promise<unknown>;
}

/**
 * A transaction opened by one owner (or by UnitOfWork) and passed to others so
 * that their writes commit together. Only owner repositories run SQL on it.
 */
export type Transaction = EntityManager;

/**
 * TypeORM's PostgreSQL driver answers UPDATE and DELETE with `[rows, rowCount]`
 * and everything else with the rows: one shape here, so no caller casts.
 */
function unwrap(result: unknown): { rows: unknown[]; count: number } {
  if (Array.isArray(result) && result.length === 2 && Array.isArray(result[0]) && typeof result[1] === 'number') {
    return { rows: result[0] as unknown[], count: result[1] };
  }
  const rows = Array.isArray(result) ? (result as unknown[]) : [];
  return { rows, count: rows.length };
}

/** The rows of a SELECT, or of an INSERT/UPDATE/DELETE with RETURNING. `T` is the caller's promise about the columns. */
export async function query<T>(runner: SqlRunner, sql: string, params: unknown[] = []): Promise<T[]> {
  return unwrap(await runner.query(sql, params)).rows as T[];
}

/** The first row, or undefined. */
export async function queryOne<T>(runner: SqlRunner, sql: string, params: unknown[] = []): Promise<T | undefined> {
  const rows = await query<T>(runner, sql, params);
  return rows[0];
}

/** Rows changed by an UPDATE or DELETE (an INSERT counts only with RETURNING). */
export async function execute(runner: SqlRunner, sql: string, params: unknown[] = []): Promise<number> {
  return unwrap(await runner.query(sql, params)).count;
}

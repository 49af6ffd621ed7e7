import { invalidRequest } from './api-error.js';

export interface CursorPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

/**
 * OpenAI's cursor pages: `after` is the id of the last item of the previous
 * page; `items` must already be in list order (newest first).
 */
export function paginate<T extends { id: string }>(
  items: T[],
  query: URLSearchParams,
  defaultLimit: number,
  maxLimit: number,
): CursorPage<T> {
  const rawLimit = query.get('limit');
  const limit = rawLimit === null ? defaultLimit : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > maxLimit) {
    throw invalidRequest(
      `Invalid 'limit': integer out of range. Expected a value between 1 and ${maxLimit}, but got ${rawLimit} instead.`,
      'limit',
      'invalid_value',
    );
  }
  const after = query.get('after');
  const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
  // An unknown cursor yields an empty last page rather than restarting from the top.
  const data = after && start === 0 ? [] : items.slice(start, start + limit);
  return {
    object: 'list',
    data,
    first_id: data[0]?.id ?? null,
    last_id: data.at(-1)?.id ?? null,
    has_more: data.length > 0 && start + limit < items.length,
  };
}

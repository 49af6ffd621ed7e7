/** Plain-text tables for the CLI: jobs, and a results summary with the first words of each description. */
import type { JobList, JobResults } from '../../client/generation-client.js';

/** Left-aligned columns separated by two spaces; cells longer than `maxWidth` are cut with an ellipsis. */
export function table(header: string[], rows: string[][], maxWidth = 48): string {
  const cut = (cell: string) => (cell.length > maxWidth ? `${cell.slice(0, maxWidth - 1)}…` : cell);
  const all = [header, ...rows].map((row) => row.map(cut));
  const widths = header.map((_, column) => Math.max(...all.map((row) => (row[column] ?? '').length)));
  return all
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** The first `count` words of an HTML description, as text. */
export function firstWords(html: string, count = 8): string {
  const words = html
    .replace(/<[^>]*>/g, ' ')
    .replace(/&[a-z]+;|&#\d+;/gi, ' ')
    .split(/\s+/)
    .filter(Boolean);
  return words.slice(0, count).join(' ') + (words.length > count ? ' …' : '');
}

export function jobsTable(list: JobList): string {
  const rows = list.jobs.map((job) => [
    job.id,
    job.status,
    `${job.processed_lots + job.failed_lots}/${job.total_lots}`,
    String(job.failed_lots),
    `${job.progress.completion_percentage}%`,
    job.languages.join(','),
    job.created_at,
  ]);
  const { total, offset, has_more: more } = list.pagination;
  const footer = `${list.jobs.length} of ${total} job(s)${offset ? ` from offset ${offset}` : ''}${more ? ' (more: --offset)' : ''}`;
  return `${table(['JOB', 'STATUS', 'DONE', 'FAILED', 'PROGRESS', 'LANGUAGES', 'CREATED'], rows, 40)}\n${footer}`;
}

/** One row per lot: id, status, and the first words of the description in each language the job asked for. */
export function resultsTable(results: JobResults, languages: string[]): string {
  const rows = results.results.lots.map((lot) => {
    const text = new Map(lot.descriptions.map((description) => [description.language, description.damages]));
    const error: unknown = lot.error;
    return [
      lot.lot_id,
      lot.status,
      ...languages.map((language) => {
        const description = text.get(language);
        if (description !== undefined) return firstWords(description);
        return typeof error === 'string' ? `(${error})` : '—';
      }),
    ];
  });
  return table(['LOT', 'STATUS', ...languages.map((language) => language.toUpperCase())], rows);
}

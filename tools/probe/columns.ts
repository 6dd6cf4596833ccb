/** Fixed-width text columns for a terminal: two spaces apart, numbers right-aligned, no trailing blanks. */

export type Align = 'left' | 'right';

export function formatColumns(header: readonly string[], rows: readonly (readonly string[])[], align: readonly Align[]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    widths
      .map((width, i) => {
        const cell = cells[i] ?? '';
        return align[i] === 'right' ? cell.padStart(width) : cell.padEnd(width);
      })
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}

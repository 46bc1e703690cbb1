/** The slice of a list that fits `height` rows and keeps the selected item in view (it scrolls once the selection passes the bottom). */
export function visibleWindow(length: number, selected: number, height: number): { readonly start: number; readonly end: number } {
  const rows = Math.max(1, height);
  const start = Math.max(0, selected - rows + 1);
  return { start, end: Math.min(length, start + rows) };
}

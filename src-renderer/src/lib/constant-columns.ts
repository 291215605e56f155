/**
 * Which columns of a table say the same thing in every row (e.g. "R@10 ceiling 100 %" in every
 * style folder): those are left out of the table and stated once under it.
 */
export function constantColumns<Row>(
  rows: readonly Row[],
  columns: readonly { key: string; text: (row: Row) => string }[],
): Set<string> {
  const constant = new Set<string>();
  // One row is not "constant", it is just one row.
  if (rows.length < 2) return constant;
  for (const column of columns) {
    const first = column.text(rows[0]!);
    if (rows.every((r) => column.text(r) === first)) constant.add(column.key);
  }
  return constant;
}

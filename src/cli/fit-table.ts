import Table from 'cli-table3'

/*
 * A table that fits a terminal's width: long cells cut with an ellipsis, line by line, and when
 * even cut cells do not fit, the least needed columns left out (and named, so the reader knows).
 * Without a width (the output is not a terminal: a pipe, a file) every cell is printed whole.
 */

export interface TableColumn {
  head: string
  /** Cut to fit, down to this many characters; without it, never cut (an id to copy). */
  cutTo?: number
  /** Cut to `cutTo` before any other column is cut (a detail nobody reads whole). */
  cutFirst?: boolean
  /**
   * May be left out when the table cannot fit: the lowest first. Without it, always shown
   * (beyond the width if need be).
   */
  leaveOutRank?: number
}

export interface FittedTable {
  text: string
  /** The heads of the columns left out. */
  leftOut: string[]
}

/** One border and one space either side of a cell. */
const FRAME = 3
const widthOf = (text: string) => Math.max(0, ...text.split('\n').map((line) => line.length))
const totalOf = (widths: number[]) => 1 + widths.reduce((sum, w) => sum + w + FRAME, 0)

/** `rows` under `columns`, fitted to `width` characters when given (see above). */
export function fitTable(
  columns: readonly TableColumn[],
  rows: readonly (readonly (string | null)[])[],
  width?: number
): FittedTable {
  const cells = rows.map((row) => columns.map((_, i) => row[i] ?? ''))
  let shown = columns.map((_, i) => i)
  const natural = columns.map((c, i) =>
    Math.max(widthOf(c.head), ...cells.map((r) => widthOf(r[i]!)))
  )
  const least = columns.map((c, i) => Math.min(natural[i]!, c.cutTo ?? Infinity))
  if (width !== undefined) {
    // Leave out columns, lowest rank first, until the rest fit when cut as far as they may be.
    while (totalOf(shown.map((i) => least[i]!)) > width) {
      const ranked = shown
        .filter((i) => columns[i]!.leaveOutRank !== undefined)
        .sort((a, b) => columns[a]!.leaveOutRank! - columns[b]!.leaveOutRank!)
      if (ranked.length === 0) break
      shown = shown.filter((i) => i !== ranked[0])
    }
  }
  const widths = shown.map((i) => natural[i]!)
  if (width !== undefined) {
    // Cut the `cutFirst` columns as far as needed first; then the widest cuttable column by one
    // until the table fits or none may be cut further.
    let excess = totalOf(widths) - width
    for (const [at, i] of shown.entries()) {
      if (!columns[i]!.cutFirst || excess <= 0) continue
      const cut = Math.min(excess, widths[at]! - least[i]!)
      widths[at] = widths[at]! - cut
      excess -= cut
    }
    while (excess > 0) {
      let widest = -1
      for (const [at, i] of shown.entries()) {
        if (widths[at]! > least[i]! && (widest < 0 || widths[at]! > widths[widest]!)) widest = at
      }
      if (widest < 0) break
      widths[widest] = widths[widest]! - 1
      excess -= 1
    }
  }
  const table = new Table({
    head: shown.map((i) => columns[i]!.head),
    // cli-table3's widths include the cell's padding; it cuts each line with an ellipsis.
    colWidths: shown.map((_, at) => widths[at]! + 2),
    style: { head: [], border: [] }
  })
  for (const row of cells) table.push(shown.map((i) => row[i]!))
  return {
    text: table.toString(),
    leftOut: columns.filter((_, i) => !shown.includes(i)).map((c) => c.head)
  }
}

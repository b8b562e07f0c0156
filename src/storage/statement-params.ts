/**
 * The parameters of a statement assembled from fragments, numbered as they are added: `add`
 * returns the placeholder (`$n`) to write into the SQL. A hot-path statement is built from only
 * the fragments the change needs: each data-modifying CTE costs PostgreSQL its executor set-up
 * (the table and its indexes opened and locked) whether or not it writes a row, and an unused
 * parameter cannot stay in the text (PostgreSQL must infer every parameter's type). The text
 * depends only on which fragments were added, so each shape of the statement is prepared once
 * per connection (postgres-db.ts names statements by their text).
 */
export class StatementParams {
  readonly values: unknown[] = []

  add(value: unknown): string {
    this.values.push(value)
    return `$${this.values.length}`
  }
}

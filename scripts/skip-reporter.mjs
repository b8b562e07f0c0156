// A node:test reporter that writes one JSON line per skipped test or suite (file, name, reason),
// for scripts/run-tests.mjs to report and, under .ci/run, to refuse.
export default async function* skipReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' || event.data.skip === undefined) continue
    const { file, name, skip } = event.data
    yield `${JSON.stringify({ file, name, reason: skip === true ? '' : String(skip) })}\n`
  }
}

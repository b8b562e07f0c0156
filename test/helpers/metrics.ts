/**
 * The value of one sample of a Prometheus text exposition, e.g. `opas_token_rotations_total` or
 * `name{a="b"}`; undefined when the series is not there.
 */
export function metricSample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `))
  return line === undefined ? undefined : Number(line.slice(series.length + 1))
}

// `npx tsx bench/profile-summary.ts FILE.cpuprofile [--top N]`: where a profile's time went.
import { readFileSync } from 'node:fs'
import { pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'

/** A V8 CPU profile, as node --cpu-prof writes it (only what is read here). */
interface CpuProfile {
  nodes: Array<{
    id: number
    callFrame: { functionName: string; url: string; lineNumber: number }
  }>
  samples: number[]
  timeDeltas: number[]
}

export interface ProfileSummary {
  /** Microseconds sampled, and of them not idle. */
  totalUs: number
  busyUs: number
  /** Self time by where the code lives: an npm package, a module of opas, Node, or V8's own. */
  byOrigin: Array<{ origin: string; us: number }>
  /** Self time by function. */
  byFunction: Array<{ name: string; us: number }>
}

/**
 * Where the code of a frame lives: `npm:<package>`, `opas:<domain folder>`, `node:<module>`, or
 * V8's own names for time outside JavaScript, `(garbage collector)`, `(program)`, `(idle)`, and
 * native functions (`writev` is the kernel call that sends answers and statements).
 */
export function originOf(frame: { functionName: string; url: string }): string {
  const { url } = frame
  if (!url) return frame.functionName || '(native)'
  const npm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (npm) return `npm:${npm[1]}`
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`
  const own = /\/(?:dist|src)\/([^/]+)\//.exec(url)
  if (own) return `opas:${own[1]}`
  return url
}

export function summarize(profile: CpuProfile): ProfileSummary {
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]))
  const self = new Map<number, number>()
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + profile.timeDeltas[i]!))
  const byOrigin = new Map<string, number>()
  const byFunction = new Map<string, number>()
  let totalUs = 0
  for (const [id, us] of self) {
    const frame = frames.get(id)!
    totalUs += us
    const origin = originOf(frame)
    byOrigin.set(origin, (byOrigin.get(origin) ?? 0) + us)
    const where = frame.url.replace(/^.*\/(node_modules|dist|src)\//, '')
    const name = `${frame.functionName || '(anonymous)'}${where ? ` ${where}:${frame.lineNumber + 1}` : ''}`
    byFunction.set(name, (byFunction.get(name) ?? 0) + us)
  }
  const sorted = (m: Map<string, number>) =>
    [...m].sort((a, b) => b[1] - a[1]).map(([key, us]) => ({ key, us }))
  return {
    totalUs,
    busyUs: totalUs - (byOrigin.get('(idle)') ?? 0),
    byOrigin: sorted(byOrigin).map(({ key, us }) => ({ origin: key, us })),
    byFunction: sorted(byFunction).map(({ key, us }) => ({ name: key, us }))
  }
}

export function formatSummary(summary: ProfileSummary, top: number): string {
  const share = (us: number) => `${((us / summary.busyUs) * 100).toFixed(1).padStart(5)} %`
  const lines = [
    `${(summary.totalUs / 1e6).toFixed(2)} s sampled, ${(summary.busyUs / 1e6).toFixed(2)} s busy; ` +
      'shares are of the busy time (self time: in the frame itself, not in what it called)',
    '',
    'by origin:'
  ]
  for (const { origin, us } of summary.byOrigin.filter((o) => o.origin !== '(idle)').slice(0, top))
    lines.push(`  ${share(us)}  ${origin}`)
  lines.push('', 'by function:')
  for (const { name, us } of summary.byFunction.filter((f) => f.name !== '(idle)').slice(0, top))
    lines.push(`  ${share(us)}  ${name}`)
  return lines.join('\n')
}

function main(): number {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { top: { type: 'string', default: '25' } }
  })
  const top = Number(values.top)
  if (positionals.length === 0 || !Number.isInteger(top) || top <= 0) {
    process.stderr.write('usage: npx tsx bench/profile-summary.ts FILE.cpuprofile... [--top N]\n')
    return 2
  }
  for (const file of positionals) {
    let profile: CpuProfile
    try {
      profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile
    } catch (err) {
      process.stderr.write(`${file}: not a readable CPU profile: ${(err as Error).message}\n`)
      return 1
    }
    process.stdout.write(`${file}\n${formatSummary(summarize(profile), top)}\n\n`)
  }
  return 0
}

if (import.meta.url === pathToFileURL(process.argv[1]!).href) process.exitCode = main()

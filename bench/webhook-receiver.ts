import { startReadyChild } from './ready-child.js'

/**
 * `--webhooks`: a webhook receiver beside opas, as a wallet's backend would run one, in a
 * process of its own (so that it competes with opas for the CPU as a real receiver on the same
 * host would, and not with the load generator): it reads each POST whole and answers 200. It
 * counts what it received, so that the report shows webhooks were delivered during the run.
 */

const RECEIVER = `
const http = require('node:http')
let received = 0
const server = http.createServer((req, res) => {
  req.resume()
  req.on('end', () => {
    received++
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': '2' }).end('{}')
  })
})
server.keepAliveTimeout = 30000
server.listen(0, '127.0.0.1', () => process.stdout.write('port ' + server.address().port + '\\n'))
process.on('SIGTERM', () => { process.stdout.write('received ' + received + '\\n'); process.exit(0) })
`

export const BENCH_WEBHOOK_SECRET = 'opas-bench-webhook-secret-of-32-chars'

export interface BenchReceiver {
  url: string
  pid: number
  /** Stops it and answers how many webhooks it received. */
  stop(): Promise<number>
}

/** The receiver, on `cpu` alone when given (taskset runs it there: the same process). */
export async function startBenchReceiver(cpu?: number): Promise<BenchReceiver> {
  const pinned = cpu === undefined ? [] : ['taskset', '-c', String(cpu)]
  const [file, ...args] = [...pinned, process.execPath, '-e', RECEIVER]
  const receiver = await startReadyChild(file!, args, {
    stream: 'stdout',
    ready: /port (\d+)/,
    timeoutMs: 10_000
  })
  const port = /port (\d+)/.exec(receiver.output())![1]
  return {
    url: `http://127.0.0.1:${port}/webhooks`,
    pid: receiver.pid,
    async stop() {
      await receiver.stop()
      return Number(/received (\d+)/.exec(receiver.output())?.[1] ?? 0)
    }
  }
}

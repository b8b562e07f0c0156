import { randomFillSync } from 'node:crypto'

/**
 * Random bytes drawn from the system CSPRNG a block at a time. `crypto.randomBytes(32)` and
 * uuid's own generator each cost a call into OpenSSL (about 2.5 µs); a grant needs two tokens
 * and several ids, so per-call draws were a measurable share of its CPU. Each byte of a block is
 * handed out once and wiped from the block as it is taken: no later caller, heap dump or core
 * file finds a token's bytes in the pool.
 */
export function createRandomPool(blockBytes = 4096): (size: number) => Buffer {
  const block = Buffer.allocUnsafeSlow(blockBytes)
  let offset = blockBytes
  return function randomBytes(size: number): Buffer {
    if (size > blockBytes) return randomFillSync(Buffer.allocUnsafe(size))
    if (offset + size > blockBytes) {
      randomFillSync(block)
      offset = 0
    }
    const bytes = Buffer.allocUnsafe(size)
    block.copy(bytes, 0, offset, offset + size)
    block.fill(0, offset, offset + size)
    offset += size
    return bytes
  }
}

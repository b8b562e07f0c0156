import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { ImageConfig } from './chroot-run.js'
import { importNodeBase, nodeBaseTarball } from './node-base.js'
import { openPodman, runCommand, type Podman } from './podman.js'

/** The image built from this checkout's Dockerfile, mounted for running and reading. */
export interface BuiltImage {
  podman: Podman
  /** Its root file system (`podman image mount`), read-only. */
  root: string
  config: ImageConfig
  /** Bytes, as `podman images` counts them: the image, and the base it was built on. */
  size: number
  baseSize: number
  /** What the steps took, in seconds. */
  seconds: { base: number; build: number }
  baseMade: boolean
  close(): Promise<void>
}

const BASE_TAG = 'localhost/opas-ci-node:24'
const IMAGE_TAG = 'localhost/opas:container-test'

const npmConfig = (key: string) =>
  runCommand('npm', ['config', 'get', key]).then((v) =>
    v === 'null' || v === 'undefined' ? '' : v
  )

/**
 * What the build's `npm ci` needs to reach the registry as this machine's npm does (its registry,
 * proxy and certificate authority), as bind mounts that exist only while a RUN step runs: none of
 * it is written into a layer. This machine's npm cache is shared too, so a warm machine downloads
 * nothing.
 */
async function registryMounts(scratch: string): Promise<string[]> {
  const lines = [`registry=${await npmConfig('registry')}`]
  const mounts: string[] = []
  for (const key of ['proxy', 'https-proxy', 'noproxy']) {
    const value = await npmConfig(key)
    if (value) lines.push(`${key}=${value}`)
  }
  const ca = (await npmConfig('cafile')) || process.env.NODE_EXTRA_CA_CERTS
  if (ca) {
    mounts.push('--volume', `${ca}:/run/opas-build/ca.pem:ro`)
    lines.push('cafile=/run/opas-build/ca.pem')
  }
  const npmrc = join(scratch, 'npmrc')
  writeFileSync(npmrc, `${lines.join('\n')}\n`)
  mounts.push('--volume', `${npmrc}:/usr/local/etc/npmrc:ro`)
  mounts.push('--volume', `${await npmConfig('cache')}:/root/.npm`)
  return mounts
}

const sizeOf = async (podman: Podman, tag: string) =>
  Number(await podman.run(['image', 'inspect', '--format', '{{.Size}}', tag]))

/** Makes (or takes from the cache) the local Node.js base, then builds `context`'s Dockerfile. */
export async function buildImage(context: string): Promise<BuiltImage> {
  const podman = openPodman()
  const scratch = mkdtempSync(join(tmpdir(), 'opas-image-build-'))
  try {
    let started = performance.now()
    const base = await nodeBaseTarball()
    await importNodeBase(podman, base.path, BASE_TAG)
    const baseSeconds = (performance.now() - started) / 1000
    started = performance.now()
    await podman.run([
      'build',
      '--isolation',
      'chroot',
      // Docker's format: the OCI format has no HEALTHCHECK.
      '--format',
      'docker',
      // Each run builds in new storage: committing every step as a layer to reuse is waste.
      '--layers=false',
      '--build-arg',
      `BASE=${BASE_TAG}`,
      ...(await registryMounts(scratch)),
      '--tag',
      IMAGE_TAG,
      context
    ])
    const buildSeconds = (performance.now() - started) / 1000
    // The HEALTHCHECK is beside the OCI configuration, which has no place for it.
    const [inspected] = JSON.parse(await podman.run(['image', 'inspect', IMAGE_TAG])) as {
      Config: ImageConfig
      Healthcheck?: ImageConfig['Healthcheck']
    }[]
    const root = await podman.run(['image', 'mount', IMAGE_TAG])
    return {
      podman,
      root,
      config: { ...inspected!.Config, Healthcheck: inspected!.Healthcheck },
      size: await sizeOf(podman, IMAGE_TAG),
      baseSize: await sizeOf(podman, BASE_TAG),
      seconds: { base: baseSeconds, build: buildSeconds },
      baseMade: base.made,
      close: () => podman.close()
    }
  } catch (err) {
    await podman.close()
    throw err
  } finally {
    rmSync(scratch, { recursive: true, force: true })
  }
}

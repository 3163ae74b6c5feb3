#!/usr/bin/env node
// A minimal Node host of cortex-runtime's signed script-runner contract, as a baseline
// for bench_vs_node.py: the same URL, signing, replay and envelope rules, with each
// script run in a fresh `vm` context. No store, no object layer, no op metering.
//
//   node bench/node_runner_host.js [--host 127.0.0.1] [--port 0] [--org bench]
//                                  [--key KEY] [--secret SECRET] [--timeout-ms 5000]
//
// Keys default to NODE_RUNNER_KEY / NODE_RUNNER_SECRET, then CORTEX_API_KEY /
// CORTEX_API_SECRET, then random ones. Once listening it prints one JSON line:
// {"url": "http://host:port/{org}/v2", "org", "apiKey", "apiSecret"}.
'use strict'

const crypto = require('crypto')
const http = require('http')
const vm = require('vm')

const WINDOW_MS = 15 * 60 * 1000
const PRUNE_EVERY_MS = 60 * 1000
const MAX_BODY_BYTES = 1024 * 1024
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'
const ORG_PATH = /^\/([^/]+)(?:\/v2)?(\/.*)?$/

// The faults this host can answer with, in Cortex's wire format.
const FAULTS = {
  noCredentials: ['auth', 'cortex.accessDenied.noCredentialsSupplied', 'kNoCredentialsSupplied', 403, 'No access credentials were supplied.'],
  app: ['apps', 'cortex.accessDenied.app', 'kAccessDenied', 403, 'App client access denied.'],
  signature: ['auth', 'cortex.accessDenied.invalidRequestSignature', 'kInvalidRequestSignature', 403, 'Invalid request signature.'],
  stale: ['auth', 'cortex.invalidArgument.staleRequestSignature', 'kStaleRequestSignature', 400,
    'Stale request signature. Use the Medable-Server-Time response header to correct drift.'],
  invalid: ['error', 'cortex.invalidArgument.unspecified', 'kInvalidArgument', 400, 'Invalid Argument.'],
  notFound: ['db', 'cortex.notFound.unspecified', 'kNotFound', 404, 'Resource not found.'],
  tooLarge: ['api', 'cortex.tooLarge.unspecified', 'kRequestTooLarge', 413, 'Request too large.'],
  timeout: ['scripts', 'script.timeout.execution', 'kTimeout', 408, 'Script execution timed out.'],
  script: ['scripts', 'script.error.unspecified', 'kScriptError', 500, 'An unspecified script error occured.'],
  error: ['error', 'cortex.error.unspecified', 'kError', 500, 'Error.']
}

class Fault extends Error {
  constructor (kind, reason) {
    const [name, errCode, code, status, message] = FAULTS[kind]
    super(message)
    this.wire = { object: 'fault', name, errCode, code, status, message }
    if (reason !== undefined) this.wire.reason = reason
  }
}

function randomAlnum (length) {
  const bytes = crypto.randomBytes(length)
  let out = ''
  for (let i = 0; i < length; i++) out += ALNUM[bytes[i] % ALNUM.length]
  return out
}

function parseArgs (argv) {
  const options = {
    host: '127.0.0.1',
    port: 0,
    org: 'bench',
    key: process.env.NODE_RUNNER_KEY || process.env.CORTEX_API_KEY || randomAlnum(22),
    secret: process.env.NODE_RUNNER_SECRET || process.env.CORTEX_API_SECRET || randomAlnum(64),
    timeoutMs: 5000
  }
  const names = { '--host': 'host', '--port': 'port', '--org': 'org', '--key': 'key', '--secret': 'secret', '--timeout-ms': 'timeoutMs' }
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]]
    if (!name || argv[i + 1] === undefined) {
      console.error(`usage: node_runner_host.js [--host H] [--port P] [--org O] [--key K] [--secret S] [--timeout-ms MS] (bad: ${argv[i]})`)
      process.exit(2)
    }
    options[name] = argv[i + 1]
  }
  options.port = Number(options.port)
  options.timeoutMs = Number(options.timeoutMs)
  return options
}

// The path after /{org}[/v2], with empty segments dropped: what the signature covers.
function normalisePath (path) {
  return '/' + path.split('/').filter(Boolean).join('/')
}

// (signature, nonce) pairs seen within the staleness window; a pair seen twice is a replay.
class NonceStore {
  constructor () {
    this.expiries = new Map()
    this.nextPrune = 0
  }

  remember (signature, nonce, now) {
    if (now >= this.nextPrune) { // prune once a minute, not on every request
      for (const [pair, expires] of this.expiries) {
        if (expires < now) this.expiries.delete(pair)
      }
      this.nextPrune = now + PRUNE_EVERY_MS
    }
    const pair = signature + ':' + nonce
    if (this.expiries.has(pair)) throw new Fault('signature', 'This signature and nonce were used before.')
    this.expiries.set(pair, now + WINDOW_MS)
  }
}

function authenticate (options, nonces, headers, method, path) {
  const key = headers['medable-client-key']
  if (!key) throw new Fault('noCredentials', 'medable-client-key is required.')
  if (key !== options.key) throw new Fault('app', 'Unknown app key.')
  const signature = String(headers['medable-client-signature'] || '').toLowerCase()
  const nonce = String(headers['medable-client-nonce'] || '')
  const timestamp = String(headers['medable-client-timestamp'] || '')
  if (signature.length !== 64 || nonce.length !== 16 || !/^\d+$/.test(timestamp)) {
    throw new Fault('signature', 'A signed request needs a signature, a 16-character nonce and a timestamp.')
  }
  const expected = crypto.createHmac('sha256', options.key + options.secret)
    .update(`${path};${method.toUpperCase()};${timestamp}`)
    .digest('hex')
  if (!crypto.timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(signature, 'latin1'))) {
    throw new Fault('signature', 'The request signature does not match.')
  }
  const now = Date.now()
  if (Math.abs(Number(timestamp) - now) > WINDOW_MS) {
    throw new Fault('stale', 'The request timestamp is more than 15 minutes away.')
  }
  nonces.remember(signature, nonce, now)
}

function runScript (options, body) {
  if (body === null || typeof body !== 'object' || typeof body.script !== 'string') {
    throw new Fault('invalid', 'script_runner expects {script: String}.')
  }
  // A fresh context per request, as every run of ours gets a fresh sandbox context.
  const context = vm.createContext({ script: { arguments: body.arguments === undefined ? null : body.arguments } })
  let value
  try {
    value = new vm.Script('(function(){' + body.script + '\n})()').runInContext(context, { timeout: options.timeoutMs })
  } catch (err) {
    if (err && err.code === 'ERR_SCRIPT_EXECUTION_TIMEOUT') throw new Fault('timeout')
    throw new Fault('script', String(err && err.message ? err.message : err))
  }
  return value === undefined ? null : value
}

function send (res, status, payload, extraHeaders) {
  const body = JSON.stringify(payload)
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    'Medable-Server-Time': String(Date.now()),
    ...extraHeaders
  })
  res.end(body)
}

function handle (options, nonces, req, raw) {
  const match = ORG_PATH.exec(req.url.split('?', 1)[0])
  if (!match) throw new Fault('notFound', 'Requests go to /{org}/v2/...')
  if (match[1] !== options.org) throw new Fault('invalid', `Unknown org ${match[1]}.`)
  const path = normalisePath(match[2] || '/')
  authenticate(options, nonces, req.headers, req.method, path)
  if (req.method !== 'POST' || path !== '/sys/script_runner') {
    throw new Fault('notFound', `No endpoint ${req.method} ${path}.`)
  }
  let body = null
  if (raw.length) {
    try {
      body = JSON.parse(raw)
    } catch (err) {
      throw new Fault('invalid', 'The request body is not valid JSON.')
    }
  }
  const started = process.hrtime.bigint()
  const data = runScript(options, body)
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  return { data, stats: JSON.stringify({ ops: 0, ms: Math.round(ms * 1000) / 1000, callouts: 0, calloutsMs: 0 }) }
}

function main () {
  const options = parseArgs(process.argv.slice(2))
  const nonces = new NonceStore()
  const server = http.createServer((req, res) => {
    const chunks = []
    let size = 0
    req.on('data', chunk => {
      size += chunk.length
      if (size <= MAX_BODY_BYTES) chunks.push(chunk)
    })
    req.on('end', () => {
      try {
        if (size > MAX_BODY_BYTES) throw new Fault('tooLarge', `Request bodies are limited to ${MAX_BODY_BYTES} bytes.`)
        const { data, stats } = handle(options, nonces, req, Buffer.concat(chunks).toString('utf8'))
        send(res, 200, { object: 'result', data }, {
          'Cortex-Sandbox-Stats': stats,
          'Access-Control-Expose-Headers': 'Cortex-Sandbox-Stats'
        })
      } catch (err) {
        const fault = err instanceof Fault ? err : new Fault('error', 'The request failed.')
        send(res, fault.wire.status, fault.wire)
      }
    })
  })
  server.keepAliveTimeout = 60 * 1000
  server.listen(options.port, options.host, () => {
    const { port } = server.address()
    process.stdout.write(JSON.stringify({
      url: `http://${options.host}:${port}/${options.org}/v2`,
      org: options.org,
      apiKey: options.key,
      apiSecret: options.secret
    }) + '\n')
  })
  const stop = () => {
    server.close(() => process.exit(0))
    server.closeAllConnections() // keep-alive clients would otherwise hold close() open
  }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
}

main()

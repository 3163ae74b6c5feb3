#!/usr/bin/env node
/*
 * Drives a cortex-runtime server with the real Medable Node client, @medable/mdctl-api.
 *
 * Usage: node mdctl_client.js '<json config>'
 *   config: {endpoint: "http://127.0.0.1:<port>", env: "<org code>", apiKey, apiSecret, debug?: bool}
 *
 * Prints ONE JSON object on stdout: one key per case, each the case's outcome as data — the value the
 * client resolved to, or {error: {code, errCode, statusCode, message, reason, name}} for what it threw.
 * With debug: true an extra key `_wire` holds, per case, every request the client sent and the response
 * it got back (method, url, headers, body; status, headers, body).
 *
 * Needs `require('@medable/mdctl-api')` to resolve: run with NODE_PATH=<.venv/npm/node_modules>.
 */
'use strict'

const crypto = require('crypto'),
      path = require('path'),
      { Client } = require('@medable/mdctl-api'),
      // the client's own axios instance (interceptors see exactly what goes over the wire)
      axios = require(require.resolve('axios', { paths: [path.dirname(require.resolve('@medable/mdctl-api'))] })),
      RUNNER = '/sys/script_runner',
      STALE_MS = 16 * 60 * 1000,
      ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function nonce16() {
  const bytes = crypto.randomBytes(16)
  return Array.from(bytes, b => ALNUM[b % ALNUM.length]).join('')
}

// Spec §5.5: HMAC-SHA256 hex, key apiKey+apiSecret, message "/" + path + ";" + METHOD + ";" + timestamp,
// with path relative to /{org}/v2, duplicate slashes collapsed, leading/trailing slashes and query removed.
function sign(apiKey, apiSecret, relPath, method, timestamp) {
  const pathname = relPath.split('?')[0].replace(/\/{2,}/g, '/').replace(/^\/|\/$/g, ''),
        message = `/${pathname};${method.toUpperCase()};${timestamp}`
  return crypto.createHmac('sha256', `${apiKey}${apiSecret}`).update(message).digest('hex')
}

function signedHeaders(cfg, relPath, method, timestamp) {
  return {
    'medable-client-signature': sign(cfg.apiKey, cfg.apiSecret, relPath, method, timestamp),
    'medable-client-nonce': nonce16(),
    'medable-client-timestamp': String(timestamp)
  }
}

// The body @medable/mdctl-sandbox sends to the script runner (spec §7).
function runnerBody(script, extra) {
  return Object.assign({ language: 'javascript', specification: 'es6', optimize: false, script }, extra || {})
}

function errorData(err) {
  return {
    error: {
      code: err && err.code,
      errCode: err && err.errCode,
      statusCode: err && err.statusCode,
      message: err && err.message,
      reason: err && err.reason,
      name: err && err.name
    }
  }
}

async function outcome(fn) {
  try {
    const value = await fn()
    return value === undefined ? { undefined: true } : value
  } catch (err) {
    return errorData(err)
  }
}

function headerValue(headers, name) {
  if (!headers) return undefined
  const key = Object.keys(headers).find(k => k.toLowerCase() === name)
  return key === undefined ? undefined : headers[key]
}

async function main() {
  const cfg = JSON.parse(process.argv[2] || '{}'),
        client = new Client({
          environment: { endpoint: cfg.endpoint, env: cfg.env },
          credentials: { apiKey: cfg.apiKey, apiSecret: cfg.apiSecret }
        }),
        out = {},
        wire = {}

  let currentCase = null
  if (cfg.debug) {
    // record at response time: response.config is the request as finally sent (one entry per exchange)
    const requestOf = (config) => {
            const headers = {}
            Object.entries((config && config.headers) || {}).forEach(([k, v]) => {
              if (v === null || typeof v !== 'object') headers[k] = v // skip axios' per-method default tables
            })
            return { method: config && config.method, url: config && config.url, params: config && config.params, headers, body: config && config.data }
          },
          record = entry => (wire[currentCase] = wire[currentCase] || []).push(entry)
    axios.interceptors.response.use((response) => {
      if (response.__wired) return response // axios-cookiejar-support runs the chain twice
      Object.defineProperty(response, '__wired', { value: true })
      let { data } = response
      if (Buffer.isBuffer(data)) data = data.toString()
      record({ request: requestOf(response.config), response: { status: response.status, headers: response.headers, body: data } })
      return response
    }, (err) => {
      if (err && err.__wired) return Promise.reject(err)
      if (err && typeof err === 'object') Object.defineProperty(err, '__wired', { value: true })
      record({ request: requestOf(err && err.config), transportError: String(err && err.message) })
      return Promise.reject(err)
    })
  }

  async function run(name, fn) {
    currentCase = name
    out[name] = await outcome(fn)
  }

  await run('runner', () => client.post(RUNNER, runnerBody('return 5 + 1')))

  // @medable/mdctl-sandbox's `stats: true` reads the Cortex-Sandbox-Stats header of the runner's response;
  // the api Client exposes the last response, so do the same here.
  await run('runnerStats', async() => {
    const result = await client.post(RUNNER, runnerBody('return 1')),
          raw = headerValue(client.response && client.response.headers, 'cortex-sandbox-stats')
    let stats
    try { stats = raw === undefined ? undefined : JSON.parse(raw) } catch (e) { stats = { unparsable: String(raw) } }
    return { result, stats: stats === undefined ? null : stats, header: raw === undefined ? null : raw }
  })

  await run('arguments', () => client.post(RUNNER, runnerBody('return script.arguments.a', { arguments: { a: 5 } })))

  await run('fault', () => client.post(RUNNER, runnerBody('throw Fault.create("kInvalidArgument", {reason: "x"})')))

  // a correctly formed (64 hex chars) but wrong signature; nonce and timestamp are the client's own
  await run('badSignature', () => {
    const good = sign(cfg.apiKey, cfg.apiSecret, RUNNER, 'POST', Date.now()),
          bad = (good[0] === '0' ? '1' : '0') + good.slice(1)
    return client.post(RUNNER, runnerBody('return 1'), { requestOptions: { headers: { 'medable-client-signature': bad } } })
  })

  // identical signature + nonce + timestamp twice
  await run('replayedNonce', async() => {
    const headers = signedHeaders(cfg, RUNNER, 'POST', Date.now()),
          send = () => outcome(() => client.post(RUNNER, runnerBody('return 1'), { requestOptions: { headers: Object.assign({}, headers) } })),
          first = await send(),
          second = await send()
    return { first, second, headers }
  })

  // a timestamp 16 minutes old, with a signature recomputed for it (valid), and a fresh nonce
  await run('staleTimestamp', () => {
    const headers = signedHeaders(cfg, RUNNER, 'POST', Date.now() - STALE_MS)
    return client.post(RUNNER, runnerBody('return 1'), { requestOptions: { headers } })
  })

  if (cfg.debug) out._wire = wire
  process.stdout.write(`${JSON.stringify(out)}\n`)
}

main().catch((err) => {
  process.stderr.write(`mdctl_client.js failed: ${err && err.stack ? err.stack : err}\n`)
  process.exit(2)
})

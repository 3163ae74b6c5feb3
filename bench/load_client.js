#!/usr/bin/env node
// The load client of the benches: signed requests from N concurrent in-flight workers
// over keep-alive connections, kept cheap on CPU because it shares the machine with
// the server it measures. The same client measures every server.
//
//   node bench/load_client.js --url http://127.0.0.1:PORT/ORG/v2 --key KEY --secret SECRET
//        [--method POST] [--path /sys/script_runner] [--body '{"script":"return 1"}']
//        [--concurrency 1] [--requests 1000] [--warmup 100] [--expect 1] [--timeout-ms 60000]
//        [--watch-pid PID --max-rss-kb KB]
//
// Every request is signed afresh (timestamp, new nonce). The warm-up runs at the same
// concurrency, opening the connections, and is not measured. Every response must be
// 200 {"object":"result","data":<expect>}; anything else aborts with exit status 1 and
// the details as JSON on stderr. The result is one JSON line on stdout:
// {requests, concurrency, warmup, seconds, rps, p50Ms, p99Ms, meanMs, minMs, maxMs,
//  clientCpuMsPerRequest, stoppedEarly}.
// With --watch-pid, the client stops issuing requests once that process's VmRSS exceeds
// --max-rss-kb (a guard for long runs against a growing server); `requests` is then the
// number completed and `stoppedEarly` is true.
'use strict'

const crypto = require('crypto')
const fs = require('fs')
const http = require('http')

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'

function parseArgs (argv) {
  const options = {
    url: '',
    key: '',
    secret: '',
    method: 'POST',
    path: '/sys/script_runner',
    body: '{"script":"return 1"}',
    concurrency: '1',
    requests: '1000',
    warmup: '100',
    expect: '1',
    timeoutMs: '60000',
    watchPid: '0',
    maxRssKb: '0'
  }
  const names = {
    '--url': 'url', '--key': 'key', '--secret': 'secret', '--method': 'method', '--path': 'path', '--body': 'body',
    '--concurrency': 'concurrency', '--requests': 'requests', '--warmup': 'warmup', '--expect': 'expect', '--timeout-ms': 'timeoutMs',
    '--watch-pid': 'watchPid', '--max-rss-kb': 'maxRssKb'
  }
  for (let i = 0; i < argv.length; i += 2) {
    const name = names[argv[i]]
    if (!name || argv[i + 1] === undefined) fail({ error: `bad argument ${argv[i]}`, usage: 'see the header of load_client.js' }, 2)
    options[name] = argv[i + 1]
  }
  if (!options.url || !options.key || !options.secret) fail({ error: '--url, --key and --secret are required' }, 2)
  for (const name of ['concurrency', 'requests', 'warmup', 'timeoutMs', 'watchPid', 'maxRssKb']) options[name] = Number(options[name])
  if (!(options.concurrency >= 1 && options.requests >= 1 && options.warmup >= 0)) fail({ error: 'bad counts' }, 2)
  options.method = options.method.toUpperCase()
  options.expect = JSON.stringify(JSON.parse(options.expect))
  return options
}

function fail (details, status = 1) {
  process.stderr.write(JSON.stringify(details) + '\n')
  process.exit(status)
}

// Nonces are a random per-process prefix plus a counter: unique without a lookup.
const noncePrefix = Array.from(crypto.randomBytes(8), b => ALNUM[b % ALNUM.length]).join('')
let nonceCounter = 0
function nextNonce () {
  return noncePrefix + (nonceCounter++).toString(36).padStart(8, '0')
}

function makeClient (options) {
  const base = new URL(options.url.replace(/\/+$/, '') + options.path)
  // The signature covers the path after /{org}[/v2] without the query, empty segments dropped.
  const signedPath = '/' + options.path.split('?', 1)[0].split('/').filter(Boolean).join('/')
  const hmacKey = options.key + options.secret
  const body = options.method === 'GET' || options.method === 'HEAD' ? null : Buffer.from(options.body)
  const agent = new http.Agent({ keepAlive: true, maxSockets: options.concurrency })
  const requestPath = base.pathname + base.search

  function headers () {
    const timestamp = String(Date.now())
    const out = {
      'medable-client-key': options.key,
      'medable-client-signature': crypto.createHmac('sha256', hmacKey).update(`${signedPath};${options.method};${timestamp}`).digest('hex'),
      'medable-client-nonce': nextNonce(),
      'medable-client-timestamp': timestamp
    }
    if (body !== null) {
      out['content-type'] = 'application/json'
      out['content-length'] = body.length
    }
    return out
  }

  // One request; resolves with its latency in ms once the whole response has been read and checked.
  function once (index) {
    return new Promise((resolve) => {
      const started = process.hrtime.bigint()
      const req = http.request({
        agent, host: base.hostname, port: base.port, method: options.method, path: requestPath, headers: headers()
      }, (res) => {
        const chunks = []
        res.on('data', chunk => chunks.push(chunk))
        res.on('end', () => {
          const elapsed = Number(process.hrtime.bigint() - started) / 1e6
          const text = Buffer.concat(chunks).toString('utf8')
          let payload
          try { payload = JSON.parse(text) } catch (err) { payload = undefined }
          const ok = res.statusCode === 200 && payload && payload.object === 'result' &&
            JSON.stringify(payload.data) === options.expect
          if (!ok) {
            fail({
              error: 'unexpected response',
              request: index,
              method: options.method,
              path: options.path,
              status: res.statusCode,
              body: text.slice(0, 2000),
              expected: { object: 'result', data: JSON.parse(options.expect) }
            })
          }
          resolve(elapsed)
        })
      })
      req.setTimeout(options.timeoutMs, () => req.destroy(new Error(`no response within ${options.timeoutMs} ms`)))
      req.on('error', err => fail({
        error: 'request failed', request: index, method: options.method, path: options.path, reason: String(err && err.message ? err.message : err)
      }))
      if (body !== null) req.end(body); else req.end()
    })
  }

  // `count` requests from `concurrency` workers, each keeping one request in flight,
  // unless `shouldStop()` turns true first. Returns how many were issued (all completed).
  async function batch (count, latencies, offset, shouldStop = () => false) {
    let issued = 0
    async function worker () {
      while (issued < count && !shouldStop()) {
        const i = issued++
        const ms = await once(offset + i)
        if (latencies) latencies[i] = ms
      }
    }
    const workers = []
    for (let w = 0; w < Math.min(options.concurrency, count); w++) workers.push(worker())
    await Promise.all(workers)
    return issued
  }

  return { batch, agent }
}

// VmRSS in kB of a process, from /proc; null once it is gone.
function rssKb (pid) {
  try {
    const match = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
    return match ? Number(match[1]) : null
  } catch (err) {
    return null
  }
}

// Nearest-rank percentile of an ascending-sorted array.
function percentile (sorted, p) {
  return sorted[Math.max(1, Math.ceil(p / 100 * sorted.length)) - 1]
}

async function main () {
  const options = parseArgs(process.argv.slice(2))
  const client = makeClient(options)
  if (options.warmup > 0) await client.batch(options.warmup, null, 0)
  let stop = false
  let watcher = null
  if (options.watchPid && options.maxRssKb) {
    // Polled twice a second: cheap, and soon enough for a server growing by MBs per second.
    watcher = setInterval(() => {
      const rss = rssKb(options.watchPid)
      if (rss !== null && rss > options.maxRssKb) stop = true
    }, 500)
  }
  const measured = new Float64Array(options.requests)
  const cpuBefore = process.cpuUsage()
  const started = process.hrtime.bigint()
  const completed = await client.batch(options.requests, measured, options.warmup, () => stop)
  const seconds = Number(process.hrtime.bigint() - started) / 1e9
  const cpu = process.cpuUsage(cpuBefore)
  if (watcher) clearInterval(watcher)
  client.agent.destroy()
  if (completed === 0) fail({ error: 'stopped before the first measured request', maxRssKb: options.maxRssKb, rssKb: rssKb(options.watchPid) })
  const latencies = measured.subarray(0, completed).sort()
  let total = 0
  for (const ms of latencies) total += ms
  const round = x => Math.round(x * 1000) / 1000
  process.stdout.write(JSON.stringify({
    method: options.method,
    path: options.path,
    requests: completed,
    concurrency: options.concurrency,
    warmup: options.warmup,
    seconds: round(seconds),
    rps: round(completed / seconds),
    p50Ms: round(percentile(latencies, 50)),
    p99Ms: round(percentile(latencies, 99)),
    meanMs: round(total / latencies.length),
    minMs: round(latencies[0]),
    maxMs: round(latencies[latencies.length - 1]),
    clientCpuMsPerRequest: round((cpu.user + cpu.system) / 1000 / completed),
    stoppedEarly: completed < options.requests
  }) + '\n')
}

main()

#!/usr/bin/env node
/*
 * `mdctl env import` / `mdctl env export` against a cortex-runtime server, with the real CLI code:
 * mdctl-cli's lib/env/import.js and lib/env/export.js driven with an @medable/mdctl-api Client, composed
 * the way mdctl-cli/tasks/env.js composes them (its keytar-backed credential lookup aside).
 *
 * Usage: node mdctl_env.js '<json config>'
 *   {command: "import"|"export", endpoint, env, apiKey, apiSecret, dir,
 *    manifest?, format?, gzip?, backup?, triggers?, production?, silent?, preferUrls?, clear?, resource?}
 *
 * stdout: one JSON line per line received (import: each response line; export: each chunk, a stream
 * chunk's data replaced by its length), then a summary {summary: {ok, complete, fault?, message?}}.
 * Exit 0 on success, 1 otherwise. The CLI's own console output goes to stderr.
 * Notes: import refuses a dir whose workspace.{json,yaml} locks it for this endpoint/env; export reads
 * package.json and manifest.json from dir unless `manifest` is given.
 *
 * Needs NODE_PATH=<.venv/npm/node_modules>.
 */
'use strict'

const Stream = require('stream'),
      ndjson = require('ndjson'),
      { Client } = require('@medable/mdctl-api'),
      importEnv = require('@medable/mdctl-cli/lib/env/import'),
      exportEnv = require('@medable/mdctl-cli/lib/env/export'),
      ExportFileTreeAdapter = require('@medable/mdctl-export-adapter-tree'),
      OPTIONS = ['manifest', 'format', 'gzip', 'backup', 'triggers', 'production', 'silent', 'preferUrls', 'clear', 'resource']

const emit = value => process.stdout.write(`${JSON.stringify(value)}\n`)
console.log = (...args) => console.error(...args) // keep stdout for JSON lines

function faultOf(err) {
  if (!err) return undefined
  const json = typeof err.toJSON === 'function' ? err.toJSON() : err
  if (json && json.object === 'fault') return json // an mdctl Fault, or a fault line of the response
  return { object: 'fault', code: err.code, errCode: err.errCode, message: err.message, reason: err.reason }
}

async function runImport(client, params) {
  let stream
  try {
    ({ response: stream } = await importEnv({ client, ...params, stream: ndjson.parse() }))
  } catch (e) {
    if (e instanceof Stream) stream = e
    else throw e
  }
  // as tasks/env.js: every line is output, a fault line rejects, complete only with a status/complete line
  return new Promise((resolve, reject) => {
    let complete = false
    stream.on('data', (data) => {
      let line = data
      if (line instanceof Buffer) {
        try { line = JSON.parse(line.toString()) } catch (e) { /* as the CLI: keep it */ }
      }
      emit(line instanceof Buffer ? line.toString() : line)
      if (line && line.object === 'fault') reject(line)
      else if (line && line.type === 'status' && line.stage === 'complete') complete = true
    })
    stream.once('error', reject)
    stream.on('end', () => resolve(complete))
  })
}

async function runExport(client, params) {
  // the adapter lib/env/export.js would build, reporting each chunk as it arrives
  const adapter = new ExportFileTreeAdapter(params.dir, { format: params.format, clearOutput: !!params.clear }),
        write = adapter._write.bind(adapter) // eslint-disable-line no-underscore-dangle
  adapter._write = (chunk, enc, cb) => { // eslint-disable-line no-underscore-dangle
    const content = Object.assign({}, chunk.content)
    if (chunk.key === 'stream') content.data = content.data === null ? null : content.data.length
    emit(content)
    write(chunk, enc, cb)
  }
  await exportEnv({ client, ...params, adapter })
  return true
}

async function main() {
  const cfg = JSON.parse(process.argv[2] || '{}'),
        client = new Client({
          environment: { endpoint: cfg.endpoint, env: cfg.env },
          credentials: { apiKey: cfg.apiKey, apiSecret: cfg.apiSecret }
        }),
        params = { dir: cfg.dir }
  OPTIONS.forEach((k) => { if (cfg[k] !== undefined && cfg[k] !== null) params[k] = cfg[k] })
  if (cfg.command !== 'import' && cfg.command !== 'export') throw new Error(`unknown command ${cfg.command}`)
  return cfg.command === 'import' ? runImport(client, params) : runExport(client, params)
}

main().then(
  (complete) => {
    emit({ summary: { ok: !!complete, complete: !!complete } })
    process.exitCode = complete ? 0 : 1
  },
  (err) => {
    const fault = faultOf(err)
    emit({ summary: { ok: false, complete: false, fault, message: (fault && fault.message) || String(err) } })
    process.exitCode = 1
  }
)

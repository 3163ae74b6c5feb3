#!/usr/bin/env node
/*
 * The real mdctl tree adapters without a server, to compare cortex_runtime/environment/tree.py against.
 *
 * Usage: node mdctl_tree.js '<json config>'
 *   {command: "read", dir, manifest?, format?}
 *     prints, one JSON line each, the chunks `mdctl env import` would send for dir
 *     (ImportFileTreeAdapter through ImportStream, as lib/env/import.js composes them).
 *   {command: "write", dir, chunksFile, format?, clear?}
 *     feeds the NDJSON export chunks in chunksFile through ExportStream into ExportFileTreeAdapter(dir),
 *     as lib/env/export.js does, and prints {complete}.
 * A thrown error prints {error: {code, errCode, message, reason}} and exits 1.
 *
 * Needs NODE_PATH=<.venv/npm/node_modules>.
 */
'use strict'

const fs = require('fs'),
      { Readable } = require('stream'),
      pump = require('pump')

function fail(err) {
  const e = err || {}
  process.stdout.write(`${JSON.stringify({ error: { code: e.code, errCode: e.errCode, message: e.message, reason: e.reason } })}\n`)
  process.exit(1)
}

async function read(cfg) {
  const ImportFileTreeAdapter = require('@medable/mdctl-import-adapter'),
        ImportStream = require('@medable/mdctl-core/streams/import_stream'),
        adapter = new ImportFileTreeAdapter(cfg.dir, cfg.format, cfg.manifest || null),
        stream = new ImportStream(adapter)
  for await (const chunk of stream) { // eslint-disable-line no-restricted-syntax
    process.stdout.write(`${JSON.stringify(chunk)}\n`)
  }
}

function write(cfg) {
  const ExportStream = require('@medable/mdctl-core/streams/export_stream'),
        ExportFileTreeAdapter = require('@medable/mdctl-export-adapter-tree'),
        chunks = fs.readFileSync(cfg.chunksFile, 'utf8').split('\n').filter(Boolean).map(l => JSON.parse(l)),
        transform = new ExportStream(),
        adapter = new ExportFileTreeAdapter(cfg.dir, { format: cfg.format || 'json', clearOutput: !!cfg.clear })
  return new Promise((resolve, reject) => {
    pump(Readable.from(chunks), transform, adapter, (err) => {
      if (err) return reject(err)
      process.stdout.write(`${JSON.stringify({ complete: transform.complete() })}\n`)
      return resolve()
    })
  })
}

const config = JSON.parse(process.argv[2] || '{}')
Promise.resolve()
  .then(() => (config.command === 'read' ? read(config) : write(config)))
  .catch(fail)

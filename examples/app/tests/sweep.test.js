// The hourly sweep job: it runs on '0 * * * *', escalates urgent open tickets through a
// webhook and records each run.
const assert = require('assert')
const { clock, http, logs } = require('cortex-test')

describe('the hourly sweep', function () {
  beforeEach(function () {
    http.mock('https://hooks.example.com/escalations', { statusCode: 202, body: { queued: true } })
  })

  it('runs once an hour', function () {
    clock.advance('24h')
    assert.strictEqual(org.objects.c_sweeps.find().count(), 24)
  })

  it('escalates an urgent ticket once, through the webhook', function () {
    const _id = org.objects.c_tickets.insertOne({ c_title: 'Database down' }).execute()
    org.objects.c_tickets.insertOne({ c_title: 'Button colour' }).execute()
    clock.advance('3h')

    const calls = http.requests()
    assert.strictEqual(calls.length, 1)
    assert.strictEqual(calls[0].method, 'POST')
    assert.deepStrictEqual(JSON.parse(calls[0].body), { ticket: _id.toString(), title: 'Database down' })
    assert.strictEqual(org.objects.c_tickets.find({ _id }).next().c_escalated, true)
  })

  it('leaves a log record for each run', function () {
    const before = logs({ stp: 'job' }).length
    clock.advance('2h')
    const jobRuns = logs({ stp: 'job' }).slice(before)
    assert.strictEqual(jobRuns.length, 2)
    assert.ok(jobRuns.every(r => r.sts === 200))
  })
})

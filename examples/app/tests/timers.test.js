// Timers in a test follow the test clock.
const assert = require('assert')
const { clock } = require('cortex-test')

describe('the test clock', function () {
  it('fires a timeout when the clock passes it', function () {
    const start = clock.now().getTime()
    const fired = []
    setTimeout(() => fired.push(clock.now().getTime() - start), 90 * 1000)
    clock.advance('1m')
    assert.deepStrictEqual(fired, [])
    clock.advance('30s')
    assert.deepStrictEqual(fired, [90 * 1000])
  })

  it('fires an interval at every period', function () {
    let ticks = 0
    const id = setInterval(() => ticks++, 1000)
    clock.advance(5500)
    clearInterval(id)
    clock.advance(5000)
    assert.strictEqual(ticks, 5)
  })

  it('awaits async tests', async function () {
    const value = await new Promise(resolve => setImmediate(() => resolve(42)))
    assert.strictEqual(value, 42)
  })
})

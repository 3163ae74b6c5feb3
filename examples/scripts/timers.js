// Timers and promises settle after main returns, inside the run's time limit.
const log = []
setTimeout(() => { log.push('timeout'); console.log(log) }, 10)
Promise.resolve().then(() => log.push('promise'))
log.push('main')
return log

// A job that runs every minute and leaves a log line; its runs are recorded in the logs.
console.log('heartbeat', new Date().toISOString())
return { ok: true }

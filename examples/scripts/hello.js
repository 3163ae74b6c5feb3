// A runner script: arguments in, a value out.
// cortex-runtime run examples/scripts/hello.js --arguments '{"name": "Ada"}'
const name = (script.arguments && script.arguments.name) || 'world'
console.log('greeting', name)
return { greeting: `Hello, ${name}!`, type: script.type, opsSoFar: script.getOpsUsed() }

// Route GET /routes/hello?name=Ada, open to anyone (deployed by deploy.json).
import utils from 'c_utils'

const req = require('request')
const name = req.query.name || 'world'
return { greeting: `Hello, ${name}!`, age: utils.dateToAge(new Date('1990-05-17')), caller: script.principal.email || 'anonymous' }

// Uses the c_utils library by its export name:
// cortex-runtime run examples/scripts/age.js --lib c_utils=examples/scripts/c_utils.js --arguments '{"dob": "1990-05-17"}'
import utils from 'c_utils'

const dob = new Date((script.arguments && script.arguments.dob) || '1990-05-17')
return { dob, age: utils.dateToAge(dob) }

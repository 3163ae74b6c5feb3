// A library, exported as c_utils.
import _ from 'underscore'

export default {
  dateToAge: function dateToAge(birthDate) {
    if (!_.isDate(birthDate)) return 0
    const today = new Date(),
          m = today.getMonth() - birthDate.getMonth()
    let age = today.getFullYear() - birthDate.getFullYear()
    if (m < 0 || (m === 0 && today.getDate() < birthDate.getDate())) {
      age--
    }
    return age
  }
}

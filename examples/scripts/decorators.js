// The platform's decorator example: @readonly class property, @autobind method, bound arrow property.
import autobind from 'decorators-autobind'
import readonly from 'decorators-readonly'

class Eye {
  @readonly
  pie = 'pie'

  @autobind
  apple() {
    return this.pie
  }

  orange = () => this.pie
}

const eye = new Eye()
let assignment
try {
  eye.pie = 'not allowed'
  assignment = 'allowed'
} catch (err) {
  assignment = `throws ${err.name}`
}
return { apple: eye.apple.call(null), orange: eye.orange.call(null), assignment }

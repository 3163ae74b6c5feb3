// After a ticket is created: an email to its creator.
const notifications = require('notifications')
const ticket = script.arguments.new

notifications.send({ title: ticket.c_title }, {
  recipient: script.principal._id,
  endpoints: {
    email: { subject: 'Ticket received', message: 'We received your ticket: ' + ticket.c_title }
  }
})

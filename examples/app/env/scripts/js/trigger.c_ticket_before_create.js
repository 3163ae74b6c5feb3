// Before a ticket is created: status, priority and due date defaults.
const { defaultPriority, slaHours } = require('c_ticket_lib')

const ticket = script.arguments.new
const priority = ticket.c_priority || defaultPriority(ticket.c_title)
const due = new Date(Date.now() + slaHours(priority) * 3600 * 1000)

ticket.update('c_status', 'open')
ticket.update('c_priority', priority)
ticket.update('c_escalated', false)
ticket.update('c_due', due)

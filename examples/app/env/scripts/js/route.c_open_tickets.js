// GET /routes/tickets/open: the caller's open tickets, most urgent first.
const tickets = org.objects.c_tickets
  .find({ c_status: 'open' })
  .sort({ c_priority: -1 })
  .paths('c_title', 'c_priority', 'c_escalated')
  .toArray()

return { count: tickets.length, tickets }

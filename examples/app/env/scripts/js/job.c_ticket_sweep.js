// Every hour: escalate urgent open tickets (a webhook call each) and record the sweep.
const http = require('http')
const { isUrgent } = require('c_ticket_lib')

let escalated = 0
const open = org.objects.c_tickets.find({ c_status: 'open' }).skipAcl().grant('read').toArray()
for (const ticket of open) {
  if (!isUrgent(ticket)) continue
  http.post('https://hooks.example.com/escalations', {
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ticket: ticket._id, title: ticket.c_title })
  })
  org.objects.c_tickets.updateOne({ _id: ticket._id }, { $set: { c_escalated: true } }).skipAcl().grant('update').execute()
  escalated++
}

org.objects.c_sweeps.insertOne({ c_escalated: escalated, c_at: new Date() }).execute()
return { escalated }

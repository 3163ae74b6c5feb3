// Ticket rules shared by the triggers, the route and the sweep job.
const URGENT_WORDS = ['outage', 'down', 'urgent']

module.exports = {
  // 1 (low) to 5 (urgent): from the title's words when the creator gave none.
  defaultPriority(title) {
    const words = String(title || '').toLowerCase().split(/\W+/)
    return words.some(w => URGENT_WORDS.includes(w)) ? 5 : 2
  },

  // Urgent tickets are escalated by the hourly sweep.
  isUrgent(ticket) {
    return ticket.c_status === 'open' && ticket.c_priority >= 4 && !ticket.c_escalated
  },

  // Hours a ticket of this priority may stay open.
  slaHours(priority) {
    return priority >= 4 ? 4 : 72
  }
}

// The ticket rules: defaults set by the create.before trigger, the creator's email from the
// create.after trigger, and who may see which tickets.
const assert = require('assert')
const should = require('should')
const { accounts, outbox, routes } = require('cortex-test')

describe('creating a ticket', function () {
  it('is open, with a priority from its title', function () {
    const _id = org.objects.c_tickets.insertOne({ c_title: 'Checkout is down' }).execute()
    const ticket = org.objects.c_tickets.find({ _id }).next()
    assert.strictEqual(ticket.c_status, 'open')
    assert.strictEqual(ticket.c_priority, 5)
    assert.strictEqual(ticket.c_escalated, false)
  })

  it('keeps a priority the creator gave', function () {
    const _id = org.objects.c_tickets.insertOne({ c_title: 'Typo on the about page', c_priority: 1 }).execute()
    org.objects.c_tickets.find({ _id }).next().c_priority.should.equal(1)
  })

  it('is due within the priority\'s service level', function () {
    const _id = org.objects.c_tickets.insertOne({ c_title: 'Printer jam' }).execute()
    const ticket = org.objects.c_tickets.find({ _id }).next()
    const hours = (new Date(ticket.c_due) - new Date(ticket.created)) / 3600000
    assert.ok(Math.abs(hours - 72) < 0.1, `due in ${hours} hours`)
  })

  it('emails its creator', function () {
    org.objects.c_tickets.insertOne({ c_title: 'Cannot log in' }).execute()
    const sent = outbox.list().filter(n => n.variables.title === 'Cannot log in')
    sent.should.have.length(1)
    sent[0].endpoints.email.subject.should.equal('Ticket received')
    sent[0].endpoints.email.plain.should.match(/Cannot log in/)
  })

  it('refuses a title that is too short', function () {
    assert.throws(
      () => org.objects.c_tickets.insertOne({ c_title: 'x' }).execute(),
      { errCode: 'cortex.invalidArgument.validation' }
    )
  })
})

describe('the open tickets route', function () {
  let all

  before(function () {
    accounts.create({ email: 'agent@example.com', roles: ['c_agent'] })
    accounts.create({ email: 'customer@example.com' })
    org.objects.c_tickets.insertOne({ c_title: 'Slow search' }).execute()
    org.objects.c_tickets.insertOne({ c_title: 'Outage in the EU region' }).execute()
    all = org.objects.c_tickets.find({ c_status: 'open' }).count()
  })

  it('lists open tickets, most urgent first', function () {
    const response = routes.call('GET', 'tickets/open')
    response.status.should.equal(200)
    response.body.count.should.equal(all)
    const priorities = response.body.tickets.map(t => t.c_priority)
    priorities.should.eql(priorities.slice().sort((a, b) => b - a))
  })

  it('shows an agent every open ticket', { principal: 'agent@example.com' }, function () {
    routes.call('GET', 'tickets/open').body.count.should.equal(all)
  })

  it('shows a customer only their own tickets', { principal: 'customer@example.com' }, function () {
    org.objects.c_tickets.insertOne({ c_title: 'Where is my invoice' }).execute()
    const response = routes.call('GET', 'tickets/open')
    response.body.tickets.map(t => t.c_title).should.eql(['Where is my invoice'])
  })
})

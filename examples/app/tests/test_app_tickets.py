"""The ticket app from Python, with the cortex-runtime pytest plugin (cortex_runtime fixture)."""

import pytest

from cortex_runtime import Fault


def test_a_new_ticket_gets_the_trigger_defaults(cortex_runtime):
    ticket = cortex_runtime.run(
        "const _id = org.objects.c_tickets.insertOne({c_title: 'Payments are down'}).execute();"
        "return org.objects.c_tickets.find({_id}).next()"
    )
    assert (ticket["c_status"], ticket["c_priority"], ticket["c_escalated"]) == ("open", 5, False)


def test_a_short_title_is_refused(cortex_runtime):
    with pytest.raises(Fault) as refused:
        cortex_runtime.run("return org.objects.c_tickets.insertOne({c_title: 'x'}).execute()")
    assert refused.value.errCode == "cortex.invalidArgument.validation"


def test_the_route_lists_open_tickets_most_urgent_first(cortex_runtime):
    cortex_runtime.fixtures.load("c_ticket", [{"c_title": "Slow page"}, {"c_title": "Login outage"}])
    response = cortex_runtime.route("GET", "tickets/open")
    assert response["status"] == 200
    assert [t["c_title"] for t in response["body"]["tickets"]] == ["Login outage", "Slow page"]


def test_a_customer_sees_only_their_tickets(cortex_runtime):
    cortex_runtime.fixtures.load("c_ticket", {"c_title": "Admin's ticket"})
    cortex_runtime.accounts.create("customer@example.com")
    cortex_runtime.run("org.objects.c_tickets.insertOne({c_title: 'My invoice'}).execute()", principal="customer@example.com")
    body = cortex_runtime.route("GET", "tickets/open", principal="customer@example.com")["body"]
    assert [t["c_title"] for t in body["tickets"]] == ["My invoice"]


def test_the_creator_is_emailed(cortex_runtime):
    cortex_runtime.fixtures.load("c_ticket", {"c_title": "Cannot export"})
    (sent,) = cortex_runtime.outbox()
    assert sent["endpoints"]["email"]["subject"] == "Ticket received"
    assert sent["endpoints"]["email"]["to"] == "admin@example.com"


def test_the_sweep_runs_hourly_and_escalates_through_the_webhook(cortex_runtime):
    cortex_runtime.http.mock("https://hooks.example.com/escalations", {"statusCode": 202}, method="POST")
    (urgent,) = cortex_runtime.fixtures.load("c_ticket", {"c_title": "Site down"})
    cortex_runtime.clock.advance("24h")
    assert len(cortex_runtime.find("c_sweep")) == 24
    (call,) = cortex_runtime.http.requests
    assert call["method"] == "POST" and str(urgent) in call["body"]
    assert cortex_runtime.find("c_ticket", {"_id": urgent})[0]["c_escalated"] is True
    assert len(cortex_runtime.logs(stp="job")) == 24

"""require('notifications') (spec modules.md §11, §29.2; rest-api-auth.md §6.4).

Tests name the acceptance fact they pin ("fact 36", ...). Templates are stored as an
environment import stores them (``contexts`` instances of ``template``, notification types on
the org document), either directly or by deploying the realistic export fixture.
"""

from __future__ import annotations

import email
import itertools
import json
import socket
import threading
from dataclasses import replace
from email import policy
from pathlib import Path
from typing import Any

import pytest
from bson import ObjectId
from starlette.testclient import TestClient

from cortex_runtime import cli
from cortex_runtime.config import limits_for
from cortex_runtime.environment.folders import deploy_folder
from cortex_runtime.modules.notifications import choose_localization, outbox_entries, render
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator, generate_key, generate_secret, signed_headers

REALISTIC = Path(__file__).resolve().parents[1] / "fixtures" / "environments" / "realistic"
NOTIFY = "const notifications = require('notifications');\n"
_codes = itertools.count()


@pytest.fixture(scope="module")
def runtime() -> Runtime:
    rt = Runtime()
    yield rt
    rt.close()


@pytest.fixture()
def org(runtime: Runtime) -> Any:
    org, admin = runtime.orgs.create(f"notify{next(_codes)}")
    member = runtime.orgs.provision(org, email="member@example.com", name={"first": "Mia", "last": "Member"})
    runtime.store.contexts.update_one({"_id": member._id}, {"$set": {"mobile": "+15550001111"}})
    return org, admin, member


def template(runtime: Runtime, org: Any, template_type: str, name: str, localizations: list[dict[str, Any]], *, partial: bool = False) -> None:
    runtime.store.contexts.insert_one(
        {"_id": ObjectId(), "org": org._id, "object": "template", "type": template_type, "name": name, "partial": partial,
         "localizations": localizations, "acl": []}
    )


def content(locale: list[str], **parts: str) -> dict[str, Any]:
    return {"locale": locale, "content": [{"name": k, "data": v} for k, v in parts.items()]}


def run(runtime: Runtime, principal: Any, org: Any, source: str, **kwargs: Any) -> Any:
    result = runtime.run(NOTIFY + source, org=org, principal=principal, **kwargs)
    assert result.fault is None, result.fault.to_json()
    return result.plain()


def fault(runtime: Runtime, principal: Any, org: Any, source: str, **kwargs: Any) -> dict[str, Any]:
    result = runtime.run(NOTIFY + source, org=org, principal=principal, **kwargs)
    assert result.fault is not None, f"expected a fault, got {result.value!r}"
    return result.fault.to_json()


def outbox(runtime: Runtime, org: Any) -> list[dict[str, Any]]:
    return outbox_entries(runtime.store, org._id, {"limit": 1000})


@pytest.fixture()
def c_t(runtime: Runtime, org: Any) -> Any:
    """An email template c_t (no notification type: the template is the notification)."""
    template(runtime, org[0], "email", "c_t", [content(["*"], subject="Value {{v}}", plain="v={{v}}", html="<b>{{v}}</b>")])
    return org


# ---- facts 36-38: outbox, persisted notifications, recipients ----------------------------------


def test_fact36_send_without_options_goes_to_the_principal_in_en_US_and_persists_nothing(runtime, c_t):
    org, admin, _ = c_t
    assert run(runtime, admin, org, "return notifications.send('c_t', {v: 1})") is None
    [entry] = outbox(runtime, org)
    assert entry["recipient"] == admin._id and entry["locale"] == "en_US" and entry["template"] == "c_t"
    assert entry["endpoints"]["email"] == {
        "template": "c_t", "locale": "*", "to": "admin@example.com", "subject": "Value 1", "plain": "v=1", "html": "<b>1</b>",
    }
    assert runtime.store.contexts.count_documents({"org": org._id, "object": "notification"}) == 0


def test_fact37_send_with_a_context_persists_a_notification_the_recipient_lists_and_clears(runtime, c_t):
    org, admin, member = c_t
    source = "notifications.send('c_t', {v: 2}, {recipient: script.arguments.to, context: {_id: script.principal._id, object: 'account'}})"
    run(runtime, admin, org, source, arguments={"to": str(member._id)})
    [stored] = runtime.store.contexts.find({"org": org._id, "object": "notification"})
    assert stored["context"] == {"_id": admin._id, "object": "account"} and stored["owner"] == {"_id": member._id}
    # The recipient lists it; the sender does not see it.
    listed = run(runtime, member, org, "return org.objects.notifications.find().toArray()")
    assert [(n["_id"], n["context"]["_id"], n["meta"]) for n in listed] == [(str(stored["_id"]), str(admin._id), {"v": 2})]
    assert run(runtime, admin, org, "return org.objects.notifications.find().toArray().length") == 0
    # The recipient clears it.
    assert run(runtime, member, org, f"return org.objects.notifications.deleteOne({{_id: '{stored['_id']}'}}).execute()") is True
    assert run(runtime, member, org, "return org.objects.notifications.find().toArray().length") == 0


def test_fact37_rest_list_and_delete_of_notifications(runtime, c_t):
    org, admin, member = c_t
    key, secret = generate_key(), generate_secret()
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=key, secret=secret, principal_id=admin._id, principal_override=True))
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)

    def call(method: str, path: str) -> Any:
        headers = {**signed_headers(path, method, key, secret), "medable-client-account": str(member._id)}
        return client.request(method, f"/{org.code}/v2{path}", headers=headers)

    run(runtime, admin, org, "notifications.send('c_t', {v: 3}, {recipient: 'member@example.com', context: {_id: script.principal._id, object: 'account'}})")
    page = call("GET", "/notifications").json()
    assert page["object"] == "list" and len(page["data"]) == 1
    note = page["data"][0]
    assert note["object"] == "notification" and note["context"]["object"] == "account"
    assert call("GET", f"/notifications/{note['_id']}").json()["_id"] == note["_id"]
    assert call("DELETE", f"/notifications/{note['_id']}").status_code == 200
    assert call("GET", "/notifications").json()["data"] == []


@pytest.mark.parametrize("form", ["id", "idString", "email", "emailUpper"])
def test_fact38_recipient_is_an_id_or_an_email(runtime, c_t, form):
    org, admin, member = c_t
    given = {"id": "new ObjectID(script.arguments.id)", "idString": "script.arguments.id", "email": "'member@example.com'", "emailUpper": "'Member@Example.com'"}[form]
    run(runtime, admin, org, f"notifications.send('c_t', {{v: 4}}, {{recipient: {given}}})", arguments={"id": str(member._id)})
    [entry] = outbox(runtime, org)
    assert entry["recipient"] == member._id and entry["endpoints"]["email"]["to"] == "member@example.com"


# ---- facts 39, 85: the per-run cap -------------------------------------------------------------


def test_fact39_the_101st_send_in_one_run_throws(runtime, c_t):
    org, admin, _ = c_t
    source = """
    const before = script.getNotificationsRemaining()
    for (let i = 0; i < 100; i++) notifications.send('c_t', {v: i})
    let caught = null
    try { notifications.send('c_t', {v: 100}) } catch (e) { caught = [e.errCode, e.reason] }
    return [before, script.getNotificationsRemaining(), caught]
    """
    assert run(runtime, admin, org, source) == [100, 0, ["cortex.accessDenied.unspecified", "Max notifications per script limit exceeded."]]
    assert len(outbox(runtime, org)) == 100
    # The cap is per run: the next run sends again.
    run(runtime, admin, org, "notifications.send('c_t', {v: 0})")
    assert len(outbox(runtime, org)) == 101


def test_fact85_a_loop_under_max_notifications_25_ends_with_max_notifications(runtime, c_t):
    org, admin, _ = c_t
    limits = limits_for("route").with_overrides(notifications=25)
    out = fault(runtime, admin, org, "for (let i = 0; i < 30; i++) notifications.send('c_t', {v: i})", limits=limits)
    assert out["errCode"] == "cortex.accessDenied.unspecified" and "Max notifications" in out["reason"]
    assert len(outbox(runtime, org)) == 25


def test_failed_sends_count_against_the_cap(runtime, c_t):
    org, admin, _ = c_t
    source = "try { notifications.send('c_bogus', {}) } catch (e) {} return script.getNotificationsRemaining()"
    assert run(runtime, admin, org, source) == 99


# ---- fact 85: errors ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "err_code", "code"),
    [
        ("notifications.send('c_bogus', {})", "cortex.notFound.template", "kNotFound"),
        ("notifications.send('location-verification', {})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {recipient: 'not an address'})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {recipient: 42})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {recipient: '000000000000000000000001'})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {recipient: consts.principals.anonymous})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {recipient: 'nobody@example.com'})", "cortex.notFound.account", "kNotFound"),
        ("notifications.send('c_t', {}, {recipient: new ObjectID()})", "cortex.notFound.account", "kNotFound"),
        ("notifications.send('c_t', {}, {number: '+15559999999'})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
        ("notifications.send('c_t', {}, {endpoints: {push: {message: 'x', apn: {priority: 7}}}})", "cortex.invalidArgument.string", "kInvalidString"),
        ("notifications.send({a: 1}, {})", "cortex.invalidArgument.object", "kInvalidObject"),
        ("notifications.send('c_t', {}, {context: {_id: 'nope', object: 'account'}})", "cortex.invalidArgument.unspecified", "kInvalidArgument"),
    ],
)
def test_fact85_error_codes(runtime, c_t, call, err_code, code):
    org, admin, _ = c_t
    out = fault(runtime, admin, org, call)
    assert out["errCode"] == err_code
    if code != "kInvalidString":
        assert out["code"] == code
    assert outbox(runtime, org) == []


def test_a_scoped_principal_needs_object_create_notification(runtime, c_t):
    org, admin, _ = c_t
    scoped = replace(admin, scope=("object.read",))
    assert fault(runtime, scoped, org, "notifications.send('c_t', {v: 1})")["errCode"] == "cortex.accessDenied.scope"
    allowed = replace(admin, scope=("object.create.notification",))
    run(runtime, allowed, org, "notifications.send('c_t', {v: 1})")
    assert len(outbox(runtime, org)) == 1


def test_a_configured_sms_number_is_accepted(runtime, org):
    org, admin, member = org
    runtime.store.orgs.update_one({"_id": org._id}, {"$set": {"smsNumbers": [{"name": "c_main", "number": "+15557770000"}]}})
    template(runtime, org, "sms", "c_text", [content(["*"], message="Hi {{who}}")])
    run(runtime, admin, org, "notifications.send('c_text', {who: 'Mia'}, {recipient: 'member@example.com', number: '+15557770000'})")
    [entry] = outbox(runtime, org)
    assert entry["endpoints"]["sms"] == {"template": "c_text", "locale": "*", "to": "+15550001111", "number": "+15557770000", "message": "Hi Mia"}


# ---- fact 40: TPNS -----------------------------------------------------------------------------


def test_fact40_tpns_content_defaults_to_the_message_and_audience_to_token(runtime, org):
    org, admin, _ = org
    source = """notifications.send({c_kind: 'visit'}, {message: 'hi', endpoints: {push: {tpns: {upload_id: 7, message_type: 'notify',
      message: {title: 'T', android: {n_ch_id: 'c1'}}}}}})"""
    run(runtime, admin, org, source)
    [entry] = outbox(runtime, org)
    tpns = entry["endpoints"]["push"]["tpns"]
    assert tpns["message"]["content"] == "hi" and tpns["audience_type"] == "token"
    assert tpns["upload_id"] == 7 and tpns["message"]["title"] == "T" and tpns["message"]["android"]["n_ch_id"] == "c1"
    assert json.loads(tpns["message"]["android"]["custom_content"]) == {"c_kind": "visit"}
    assert entry["endpoints"]["push"]["message"] == "hi" and entry["recipient"] == admin._id


def test_tpns_keeps_a_given_content_and_audience(runtime, org):
    org, admin, _ = org
    run(runtime, admin, org, "notifications.send(null, {message: 'hi', endpoints: {push: {tpns: {audience_type: 'account_list', message: {content: 'own'}}}}})")
    tpns = outbox(runtime, org)[0]["endpoints"]["push"]["tpns"]
    assert tpns["message"] == {"content": "own"} and tpns["audience_type"] == "account_list"


def test_payload_only_email_endpoint(runtime, org):
    org, admin, _ = org
    run(runtime, admin, org, "notifications.send({}, {endpoints: {email: {recipient: 'x@elsewhere.org', template: null, message: 'plain text', html: '<p>h</p>'}}})")
    email_ = outbox(runtime, org)[0]["endpoints"]["email"]
    assert (email_["to"], email_["plain"], email_["html"], email_["template"]) == ("x@elsewhere.org", "plain text", "<p>h</p>", None)


# ---- localizations -----------------------------------------------------------------------------


@pytest.fixture()
def greeting(runtime, org) -> Any:
    template(runtime, org[0], "sms", "c_greet", [
        content(["en_US"], message="Hello {{name}}"),
        content(["fr_FR"], message="Bonjour {{name}}"),
        content(["*"], message="Hi {{name}}"),
    ])
    return org


@pytest.mark.parametrize(
    ("locale", "message"),
    [(None, "Hello Mia"), ("en_US", "Hello Mia"), ("fr_FR", "Bonjour Mia"), ("fr-CA", "Bonjour Mia"), ("FR", "Bonjour Mia"), ("de_DE", "Hi Mia")],
)
def test_template_localizations_and_locale_fallback(runtime, greeting, locale, message):
    org, admin, _ = greeting
    options = "{}" if locale is None else json.dumps({"locale": locale})
    run(runtime, admin, org, f"notifications.send('c_greet', {{name: 'Mia'}}, {options})")
    [entry] = outbox(runtime, org)
    assert entry["endpoints"]["sms"]["message"] == message and entry["locale"] == (locale or "en_US")


def test_without_an_any_locale_an_unknown_locale_falls_back_to_en_US_then_the_first():
    tpl = {"localizations": [content(["fr_FR"], message="fr"), content(["en_US"], message="en")]}
    assert choose_localization(tpl, "de_DE")["locale"] == ["en_US"]
    assert choose_localization({"localizations": [content(["fr_FR"], message="fr")]}, "de_DE")["locale"] == ["fr_FR"]
    assert choose_localization({"localizations": []}, "en_US") is None


# ---- rendering ---------------------------------------------------------------------------------


def test_render_subset():
    out = render("{{a.b}} {{{h}}} {{h}} {{#if x}}y{{else}}n{{/if}}{{#unless x}}!{{/unless}} {{#each l}}[{{@index}}{{this}}]{{/each}}{{! note }}",
                 {"a": {"b": 1}, "h": "<i>", "x": 0, "l": ["p", "q"]}, escape=True)
    assert out == "1 <i> &lt;i&gt; n! [0p][1q]"
    assert render("{{missing.deep}}|{{n}}|{{f}}|{{t}}", {"n": 2.0, "f": 1.5, "t": True}) == "|2|1.5|true"
    layouts = {"base": '<h>{{#block "title"}}T{{/block}}</h>{{#block "body"}}{{/block}}{{#block "foot"}}F{{/block}}', "sig": "-- {{name}}"}
    child = '{{#extend "base"}}ignored{{#content "body"}}B {{name}} {{> sig}}{{/content}}{{#content "foot" mode="prepend"}}+{{/content}}{{/extend}}'
    assert render(child, {"name": "N"}, lambda name, kind: layouts.get(name)) == "<h>T</h>B N -- N+F"


def test_render_faults():
    from cortex_runtime.faults import Fault

    for source in ("{{#if x}}open", "{{/if}}", "{{> nothing}}", "{{#bogus}}x{{/bogus}}"):
        with pytest.raises(Fault) as caught:
            render(source, {})
        assert caught.value.errCode == "cortex.error.renderTemplate"


def test_builtin_layout_when_the_org_has_none(runtime, org):
    org, admin, _ = org
    template(runtime, org, "email", "c_plainly", [content(["*"], subject="S", plain='{{#extend "layout"}}{{#content "body"}}Body {{x}}{{/content}}{{/extend}}')])
    run(runtime, admin, org, "notifications.send('c_plainly', {x: 1})")
    assert outbox(runtime, org)[0]["endpoints"]["email"]["plain"] == "Body 1\n"


@pytest.fixture()
def realistic(runtime, org) -> Any:
    report = deploy_folder(runtime, org[0], org[1], REALISTIC)
    assert report.fault is None, report.fault and report.fault.to_json()
    return org


def test_an_imported_environment_renders_layout_partials_and_every_endpoint(runtime, realistic):
    org, admin, member = realistic
    run(runtime, admin, org, "notifications.send('c_visit_reminder', {visit: {c_scheduled_at: 'May 3 <9am>'}}, {recipient: 'member@example.com'})")
    [entry] = outbox(runtime, org)
    assert entry["notification"] == "c_visit_reminder" and set(entry["endpoints"]) == {"email", "sms"}
    mail = entry["endpoints"]["email"]
    assert mail["subject"] == "Visit reminder: May 3 <9am>" and mail["locale"] == "en_US"
    assert "Your visit is scheduled for May 3 &lt;9am&gt;." in mail["html"] and "<title>Clinic Trial</title>" in mail["html"]
    assert "The Clinic Trial team" in mail["html"]  # the c_signature partial
    assert mail["plain"].strip().startswith("Your visit is scheduled for May 3 <9am>.") and "support@clinic.example.org" in mail["plain"]
    assert entry["endpoints"]["sms"]["message"] == "Clinic Trial: your visit is on May 3 <9am>. Reply STOP to opt out."
    assert entry["endpoints"]["sms"]["to"] == "+15550001111"


def test_a_disabled_endpoint_is_skipped(runtime, realistic):
    org, admin, _ = realistic
    doc = runtime.store.orgs.find_one({"_id": org._id})
    notes = doc["notifications"]
    for note in notes:
        for endpoint in note["endpoints"]:
            if endpoint["name"] == "sms":
                endpoint["state"] = "Disabled"
    runtime.store.orgs.update_one({"_id": org._id}, {"$set": {"notifications": notes}})
    run(runtime, admin, org, "notifications.send('c_visit_reminder', {visit: {c_scheduled_at: 'x'}})")
    assert set(outbox(runtime, org)[0]["endpoints"]) == {"email"}


# ---- SMTP --------------------------------------------------------------------------------------


class _Collect:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.received.set()
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture()
def smtp_server():
    from aiosmtpd.controller import Controller

    handler = _Collect()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield handler, controller.port
    controller.stop()


def test_with_smtp_the_server_receives_the_rendered_mail(runtime, realistic, smtp_server):
    org, admin, member = realistic
    handler, port = smtp_server
    runtime.smtp = {"host": "127.0.0.1", "port": port}
    try:
        run(runtime, admin, org, "notifications.send('c_welcome', {account: {name: {first: 'Mia'}}, study: {c_name: 'Heart & Sole'}}, {recipient: 'member@example.com'})")
    finally:
        runtime.smtp = None
    assert handler.received.wait(5)
    [(sender, recipients, raw)] = handler.messages
    assert recipients == ["member@example.com"] and sender == f"noreply@{org.code}.cortex.local"
    message = email.message_from_bytes(raw, policy=policy.default)
    assert message["Subject"] == "Welcome to Heart & Sole" and message["To"] == "member@example.com"
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Welcome, Mia! You are enrolled in Heart & Sole." in plain
    assert "<h1>Welcome, Mia!</h1>" in html and "Heart &amp; Sole" in html and "The Clinic Trial team" in html
    assert outbox(runtime, org) == []  # delivered: nothing left in the outbox


def test_without_smtp_the_outbox_has_the_mail(runtime, realistic):
    org, admin, _ = realistic
    run(runtime, admin, org, "notifications.send('c_welcome', {account: {name: {first: 'Al'}}, study: {c_name: 'S'}})")
    [entry] = outbox(runtime, org)
    assert entry["endpoints"]["email"]["subject"] == "Welcome to S" and "<h1>Welcome, Al!</h1>" in entry["endpoints"]["email"]["html"]


def test_an_unreachable_smtp_server_leaves_the_mail_in_the_outbox_with_the_error(runtime, c_t):
    org, admin, _ = c_t
    runtime.smtp = ("127.0.0.1", _free_port())
    try:
        run(runtime, admin, org, "notifications.send('c_t', {v: 5})")
    finally:
        runtime.smtp = None
    [entry] = outbox(runtime, org)
    assert entry["endpoints"]["email"]["subject"] == "Value 5" and entry["endpoints"]["email"]["error"]


# ---- the outbox accessor and the CLI -----------------------------------------------------------


def test_scripts_read_and_clear_the_outbox(runtime, c_t):
    org, admin, member = c_t
    source = """
    notifications.send('c_t', {v: 1}); notifications.send('c_t', {v: 2}, {recipient: 'member@example.com'})
    const all = notifications.outbox(), mine = notifications.outbox({recipient: script.arguments.member})
    return [all.length, all[0].endpoints.email.subject, mine.length, String(mine[0].recipient), notifications.clearOutbox(), notifications.outbox().length]
    """
    assert run(runtime, admin, org, source, arguments={"member": str(member._id)}) == [2, "Value 1", 1, str(member._id), 2, 0]
    assert fault(runtime, member, org, "return notifications.outbox()")["errCode"] == "cortex.accessDenied.unspecified"


def test_cli_outbox_prints_the_entries(tmp_path, capsys):
    data = tmp_path / "data"
    rt = Runtime(data_dir=data)
    org, admin = rt.orgs.create("clibox")
    template(rt, org, "sms", "c_ping", [content(["*"], message="ping {{n}}")])
    assert rt.run(NOTIFY + "notifications.send('c_ping', {n: 1}); notifications.send('c_ping', {n: 2})", org=org, principal=admin).ok
    rt.close()
    assert cli.main(["outbox", "--org", "clibox", "--data", str(data)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["endpoints"]["sms"]["message"] for line in lines] == ["ping 1", "ping 2"]
    assert lines[0]["recipient"] == str(admin._id)
    assert cli.main(["outbox", "--org", "nosuch", "--data", str(data)]) == 1


def test_serve_smtp_option_parses_host_and_port():
    args = cli.build_parser().parse_args(["serve", "--ephemeral", "--smtp", "127.0.0.1:2525"])
    assert cli._smtp_setting(args.smtp) == {"host": "127.0.0.1", "port": 2525}
    assert cli._smtp_setting("mail.local") == {"host": "mail.local", "port": 25}
    assert cli.build_parser().parse_args(["serve"]).smtp is None


def test_cli_outbox_without_a_store(tmp_path):
    assert cli.main(["outbox", "--data", str(tmp_path / "missing")]) == 1
    assert not (tmp_path / "missing").exists()

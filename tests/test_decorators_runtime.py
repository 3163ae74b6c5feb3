"""Static decorators in libraries: @route, @trigger, @job, @object registered at deploy, and org.read('runtime')."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from starlette.testclient import TestClient

from cortex_runtime.clock import FakeClock
from cortex_runtime.runtime import Runtime
from cortex_runtime.server.app import create_app
from cortex_runtime.server.auth import App, Authenticator

from .server.test_runner import KEY, SECRET, signed

SETUP = """
org.objects.objects.insertOne({label: 'Item', name: 'c_item', defaultAcl: [{type: 4, allow: 7}], createAcl: [{type: 1, target: consts.principals.public}],
  properties: [{label: 'N', name: 'c_n', type: 'Number', indexed: true}, {label: 'S', name: 'c_s', type: 'String'}]}).execute()
"""

LIBRARY_A = """
const { route, trigger, job, log } = require('decorators')

class Ping {
  @log
  @route({method: 'GET', name: 'c_ping', path: 'c_ping'})
  static ping({ req }) { return 'pong ' + (req.query.who || 'nobody') }

  @trigger('create.before', { object: 'c_item', name: 'c_stamp', weight: 1 })
  static stamp({ context, new: pending }) { pending.update('c_s', 'from A') }

  @job('*/5 * * * *', { name: 'c_five' })
  static five() { org.objects.c_items.insertOne({c_n: 5}).execute() }
}

module.exports = Ping
"""

LIBRARY_B = """
import { trigger } from 'decorators'

export default class Stamper {
  @trigger('create.before', { object: 'c_item', name: 'c_stamp', weight: %s })
  stamp({ new: pending }) { pending.update('c_s', 'from B') }
}
"""


def deploy_library(runtime, org, admin, name, source):
    layer = runtime.layer(org, admin)
    return layer.insert_one("script", {"label": name, "name": name, "type": "library", "script": source, "configuration": {"export": name}}, {})


def test_decorated_route_trigger_job_and_runtime_listing():
    clock = FakeClock(datetime(2026, 1, 1, tzinfo=timezone.utc))
    runtime = Runtime(clock=clock)
    org, admin = runtime.orgs.create("deco")
    assert runtime.run(SETUP, org=org, principal=admin).ok
    deploy_library(runtime, org, admin, "c_lib_a", LIBRARY_A)

    # @route answers GET /{org}/v2/routes/c_ping
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    response = client.get("/deco/v2/routes/c_ping?who=me", headers=signed("/routes/c_ping", "GET"))
    assert response.json() == {"object": "result", "data": "pong me"}, response.text

    # @trigger changes the pending write; a second library's same-named trigger replaces it
    # only with a strictly higher weight.
    def created_s() -> str:
        out = runtime.run("const id = org.objects.c_items.insertOne({c_n: 1}).execute(); return org.objects.c_items.find({_id: id}).next().c_s", org=org, principal=admin)
        assert out.ok, out.fault and out.fault.to_json()
        return out.value

    assert created_s() == "from A"
    deploy_library(runtime, org, admin, "c_lib_b", LIBRARY_B % 1)
    assert created_s() == "from A"
    runtime.layer(org, admin).update_one("script", {"name": "c_lib_b"}, {"$set": {"script": LIBRARY_B % 2}}, {})
    assert created_s() == "from B"

    # @job runs on schedule.
    scheduler = runtime.scheduler("w")
    clock.advance(timedelta(minutes=5))
    assert [run.status for run in scheduler.tick()] == ["completed"]
    assert runtime.run("return org.objects.c_items.count({c_n: 5})", org=org, principal=admin).value == 1

    listing = runtime.run("return org.read('runtime')", org=org, principal=admin)
    assert listing.ok, listing.fault and listing.fault.to_json()
    value = json.loads(json.dumps(listing.plain()))
    (ping,) = [r for r in value["routes"] if r["name"] == "c_ping"]
    assert ping["configuration"]["method"] == "get" and ping["configuration"]["path"] == "c_ping"
    assert (ping["metadata"]["className"], ping["metadata"]["methodName"], ping["metadata"]["scriptExport"]) == ("Ping", "ping", "c_lib_a")
    assert ping["metadata"]["resource"].startswith("script#type(library).name(c_lib_a).@route ")
    (stamp,) = [t for t in value["triggers"] if t["name"] == "c_stamp"]
    assert (stamp["metadata"]["className"], stamp["weight"]) == ("Stamper", 2)
    assert [j["name"] for j in value["jobs"]] == ["c_five"]
    assert {lib["name"] for lib in value["libraries"]} == {"c_lib_a", "c_lib_b"}


LAYERS = """
const { route } = require('decorators')

class Layers {
  @route('PATCH c_layer', { name: 'c_layer_outer', weight: 2 })
  static outer({ req, next }) { req.memo('theWord', 'bird'); next() }

  @route('PATCH c_layer', { name: 'c_layer_inner', weight: 1 })
  static inner({ req }) { return 'the word is ' + req.memo('theWord') }

  @route('DELETE *', { name: 'c_guard', weight: 999 })
  static guard({ next }) { next() }

  @route('DELETE c_layer', { name: 'c_delete', weight: 1 })
  static remove() { return 'deleted' }
}
module.exports = Layers
"""


def test_layered_routes_pass_on_with_next_and_share_memo():
    runtime = Runtime()
    org, admin = runtime.orgs.create("layers")
    deploy_library(runtime, org, admin, "c_layers", LAYERS)
    auth = Authenticator(runtime.store)
    auth.add_app(org, App(name="local", key=KEY, secret=SECRET, principal_id=admin._id, principal_override=True))
    client = TestClient(create_app(runtime, auth), raise_server_exceptions=False)
    patched = client.patch("/layers/v2/routes/c_layer", headers=signed("/routes/c_layer", "PATCH"), content="{}")
    assert patched.json() == {"object": "result", "data": "the word is bird"}, patched.text
    deleted = client.delete("/layers/v2/routes/c_layer", headers=signed("/routes/c_layer", "DELETE"))
    assert deleted.json() == {"object": "result", "data": "deleted"}, deleted.text


GROUPS = """
const { object } = require('decorators')

@object('c_item')
class Items extends CortexObject {
  static biggest() { return this.find().sort({c_n: -1}).limit(1).next().c_n }
}
module.exports = Items
"""

NOT_CORTEX = """
const { object } = require('decorators')
@object('c_item', { weight: 5 })
class Plain { static biggest() { return 0 } }
module.exports = Plain
"""


def test_object_decorator_binds_a_class_to_an_object_name():
    runtime = Runtime()
    org, admin = runtime.orgs.create("bound")
    assert runtime.run(SETUP + "org.objects.c_items.insertMany([{c_n: 3}, {c_n: 9}, {c_n: 4}]).execute(); return 1", org=org, principal=admin).ok
    deploy_library(runtime, org, admin, "c_items_lib", GROUPS)
    out = runtime.run("return [org.objects.c_items.biggest(), org.objects.C_Item.name, org.objects.c_items.objectName]", org=org, principal=admin)
    assert out.value == [9, "Items", "c_item"], out.fault and out.fault.to_json()
    deploy_library(runtime, org, admin, "c_plain_lib", NOT_CORTEX)
    refused = runtime.run("return org.objects.c_items.biggest()", org=org, principal=admin)
    assert refused.fault is not None and "must extend CortexObject" in refused.fault.reason

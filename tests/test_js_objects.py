"""CortexObject, org.objects, cursors and operations as scripts see them (js_prelude/70_objects.js).

The object layer is replaced by FakeHost, an in-memory implementation of the host protocol
that records every call, so these tests pin what the JS sends and when.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from bson import ObjectId

from cortex_runtime import Fault, Sandbox
from cortex_runtime.sandbox import RunInfo

ADMINISTRATOR = ObjectId("000000000000000000000004")
ANONYMOUS = ObjectId("000000000000000000000001")
PUBLIC = ObjectId("000000000000000000000003")
OWNER = ObjectId("0000000000000000000000aa")


def things(count: int) -> list[dict[str, Any]]:
    return [
        {"_id": ObjectId(), "object": "c_thing", "c_n": n, "c_group": "a", "owner": OWNER, "c_nested": {"a": n * 10}}
        for n in range(count)
    ]


class FakeHost:
    """The object layer's host calls over lists of documents, keyed by singular object name."""

    def __init__(self, data: dict[str, list[dict[str, Any]]] | None = None) -> None:
        self.data = data if data is not None else {"c_thing": things(25), "account": []}
        self.calls: list[tuple[str, list[Any]]] = []
        self.cursors: dict[str, list[dict[str, Any]]] = {}
        self.response: list[tuple[str, Any]] = []

    def module_methods(self, name: str) -> list[str] | None:
        return {"probe": ["mark"], "response": ["setHeader", "write"]}.get(name)

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def call(self, run: RunInfo, name: str, args: list[Any]) -> Any:
        self.calls.append((name, args))
        if name == "probe.mark":
            return None
        if name.startswith("response."):
            self.response.append((name, args))
            return True
        handler = getattr(self, "_" + name.replace(".", "_"))
        return handler(*args)

    def _objects_resolve(self, name: str) -> dict[str, str] | None:
        lower = name.lower()
        for candidate in (lower, lower[:-1] if lower.endswith("s") else None):
            if candidate in self.data:
                return {"name": candidate}
        return None

    def _query(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        if options["object"] not in self.data:
            raise Fault("cortex.invalidArgument.object", path=options["object"])
        where = options.get("where") or {}
        docs = [d for d in self.data[options["object"]] if all(d.get(k) == v for k, v in where.items())]
        for key, direction in (options.get("sort") or {}).items():
            docs.sort(key=lambda d: d.get(key), reverse=direction == -1)
        for stage in options.get("pipeline") or []:
            if "$limit" in stage:
                docs = docs[: stage["$limit"]]
        return docs[options.get("skip") or 0 :]

    def _limited(self, options: dict[str, Any]) -> list[dict[str, Any]]:
        docs = self._query(options)
        limit = options.get("limit")
        return docs if limit is None or limit is False else docs[:limit]

    def _objects_cursor_open(self, options: dict[str, Any]) -> dict[str, Any]:
        docs = self._limited(options)
        cursor_id = f"cursor{len(self.cursors) + 1}"
        if options.get("passthru"):
            self.cursors[cursor_id] = docs
            return {"cursor": cursor_id, "buffer": [], "done": False}
        batch, rest = docs[: options["batchSize"]], docs[options["batchSize"] :]
        if not rest:
            return {"cursor": None, "buffer": batch, "done": True}
        self.cursors[cursor_id] = rest
        return {"cursor": cursor_id, "buffer": batch, "done": False}

    def _objects_cursor_fetch(self, cursor_id: str, count: int) -> dict[str, Any]:
        rest = self.cursors[cursor_id]
        batch, self.cursors[cursor_id] = rest[:count], rest[count:]
        done = not self.cursors[cursor_id]
        if done:
            del self.cursors[cursor_id]
        return {"buffer": batch, "done": done}

    def _objects_cursor_close(self, cursor_id: str) -> None:
        self.cursors.pop(cursor_id, None)

    def _objects_cursor_list(self, options: dict[str, Any]) -> dict[str, Any]:
        # The list default of 10 is the host's (fidelity.md §5: a pipeline's trailing $limit can
        # stand in for it), so toList() no longer sends limit: 10 itself.
        docs = self._query(options)
        limit = options.get("limit") or 10
        return {"object": "list", "data": docs[:limit], "hasMore": len(docs) > limit}

    def _objects_cursor_count(self, options: dict[str, Any]) -> int:
        return len(self._limited(options))

    def _objects_cursor_pathRead(self, options: dict[str, Any], path: str, flags: dict[str, Any]) -> Any:
        docs = self._limited(options)
        if not docs:
            if flags["throwNotFound"]:
                raise Fault("cortex.notFound.instance", path=path)
            return None
        value: Any = docs[0]
        for part in path.split("."):
            value = value[part]
        return value

    def _objects_execute(self, options: dict[str, Any]) -> Any:
        operation = options["operation"]
        if operation == "count":
            return len(self._query(options))
        if operation == "setOwner":
            return options["to"] != OWNER
        if operation == "insertOne":
            return {"_id": ObjectId(), "object": options["object"]} if options.get("lean") is False else ObjectId()
        if operation == "deleteOne":
            return True
        if operation == "deleteMany":
            return 3
        if operation == "bulk":
            return [{"object": "operationResult", "path": f"{op.get('name', op['operation'])}[{i}][0]"} for i, op in enumerate(options["ops"])]
        return operation


@pytest.fixture
def host() -> FakeHost:
    return FakeHost()


def run(host: FakeHost, source: str, **kwargs: Any) -> Any:
    result = Sandbox(cache_dir=None, host_api=host).run(source, **kwargs)
    assert result.ok, result.fault and result.fault.to_json()
    return result.value


def executed(host: FakeHost) -> list[dict[str, Any]]:
    return [args[0] for name, args in host.calls if name == "objects.execute"]


# ---- cursors ---------------------------------------------------------------


def test_find_does_nothing_until_iterated(host):
    value = run(
        host,
        """
        const probe = require('probe')
        const Things = org.objects.c_things
        probe.mark('before')
        const cursor = Things.find({c_group: 'a'}).skipAcl().grant('read').paths('c_n').sort({c_n: 1}).limit(5)
        const closed = cursor.isClosed()
        probe.mark('built')
        return [cursor.next().c_n, closed]
        """,
    )
    assert value == [0, False]
    names = host.names()
    assert names[names.index("probe.mark") + 1] == "probe.mark"
    assert names[-1] == "objects.cursor.open"


def test_batches_of_batch_size(host):
    host.data["c_thing"] = things(250)
    assert run(host, "return org.objects.c_things.find().toArray().length") == 250
    assert [n for n in host.names() if n.startswith("objects.cursor")] == [
        "objects.cursor.open",
        "objects.cursor.fetch",
        "objects.cursor.fetch",
    ]
    assert host.calls[1][1][0]["batchSize"] == 100
    assert [args for name, args in host.calls if name == "objects.cursor.fetch"] == [["cursor1", 100], ["cursor1", 100]]


def test_batch_size_is_clamped(host):
    value = run(
        host,
        "const X = org.objects.c_things; return [X.find().batchSize(1000).getOptions().batchSize, X.find().batchSize(0).getOptions().batchSize, X.find().batchSize(7).getOptions().batchSize]",
    )
    assert value == [100, 1, 7]
    host.calls.clear()
    run(host, "return org.objects.c_things.find().batchSize(10).toArray().length")
    assert host.names().count("objects.cursor.fetch") == 2  # 25 docs: 10 + 10 + 5


def test_to_list_and_to_array(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const page = X.find({c_group: 'a'})
        const list = page.toList()
        const all = X.find({c_group: 'a'}).limit(30).toList()
        return [list.object, list.data.length, list.hasMore, all.data.length, all.hasMore, X.find().toArray().length,
                Array.isArray(X.find().toArray())]
        """,
    )
    assert value == ["list", 10, True, 25, False, 25, True]
    lists = [args[0] for name, args in host.calls if name == "objects.cursor.list"]
    # fidelity.md §5: an unset list limit is left to the host (default 10), so none is sent.
    assert [options.get("limit") for options in lists] == [None, 30]


def test_next_after_the_end_throws_range_error(host):
    host.data["c_thing"] = things(2)
    value = run(
        host,
        """
        const c = org.objects.c_things.find()
        c.next(); c.next()
        const more = c.hasNext()
        try { c.next() } catch (e) { return [more, e instanceof RangeError, e.message, c.isClosed()] }
        """,
    )
    assert value == [False, True, "Iterator out of bounds.", True]


def test_close_ends_iteration_and_frees_the_server_cursor(host):
    host.data["c_thing"] = things(150)
    value = run(host, "const c = org.objects.c_things.find(); c.next(); c.close(); return [c.isClosed(), c.hasNext()]")
    assert value == [True, False]
    assert ("objects.cursor.close", ["cursor1"]) in host.calls
    assert host.cursors == {}


def test_iteration_helpers(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const seen = []
        for (const d of X.find().sort({c_n: -1}).limit(3)) seen.push(d.c_n)
        const visited = []
        const forEachResult = X.find().limit(3).forEach(d => visited.push(d.c_n))
        return [
          seen, visited, forEachResult === undefined,
          X.find().limit(4).map(d => d.c_n * 2),
          X.find().reduce((memo, d) => memo + 1, 0),
          X.find().find(d => d.c_n === 7).c_n,
          X.find().filter(d => d.c_n % 10 === 0).length,
          typeof X.find().count(), X.find().count(), X.find({c_n: 3}).count(),
        ]
        """,
    )
    assert value == [[24, 23, 22], [0, 1, 2], True, [0, 2, 4, 6], 25, 7, 3, "number", 25, 1]


def test_path_read(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const value = X.find({c_n: 3}).pathRead('c_nested.a')
        const missing = X.find({c_n: 99}).pathRead('c_nested.a', {throwNotFound: false})
        try { X.find({c_n: 99}).pathRead('c_nested.a') } catch (e) { return [value, missing, e.errCode] }
        """,
    )
    assert value == [30, None, "cortex.notFound.instance"]
    read = [args for name, args in host.calls if name == "objects.cursor.pathRead"]
    assert read[0][1:] == ["c_nested.a", {"throwNotFound": True}]
    assert read[1][2] == {"throwNotFound": False}


def test_cursor_options(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const c = X.find({a: 1}).where({b: 2}).skipAcl().grant('read').access(0).maxTimeMS(5)
          .paths('a', 'b').include(['c']).expand('d', 'e').sort({a: 1}).skip(2).limit(3).locale('fr_FR')
          .pathPrefix('x.y').roles(consts.roles.developer).passive().indexed(false)
        return [
          c.getOptions(),
          X.find().getOptions(),
          X.find().access(99).maxTimeMS(50000).maxTimeMs(20).getOptions(),
          X.find().grant(6).skipAcl(false).paths(['a', 'b']).getOptions(),
          X.find().access(99).getOptions().access,
          X.find().maxTimeMS(50000).getOptions().maxTimeMS,
          X.find().setOptions({limit: 4, grant: 8}, {skipAcl: true}).getOptions(),
        ]
        """,
    )
    full, default, clamped, plain, access, max_time, set_options = value
    assert full == {
        "object": "c_thing",
        "operation": "cursor",
        "where": {"b": 2},
        "batchSize": 100,
        "maxTimeMS": 10,
        "skipAcl": True,
        "grant": 4,
        "access": 1,
        "paths": ["a", "b"],
        "include": ["c"],
        "expand": ["d", "e"],
        "sort": {"a": 1},
        "skip": 2,
        "limit": 3,
        "locale": "fr_FR",
        "pathPrefix": "x.y",
        "roles": [ObjectId("000000000000000000000007")],
        "passive": True,
        "unindexed": True,
    }
    assert default == {"object": "c_thing", "operation": "cursor", "batchSize": 100, "maxTimeMS": 10000}
    assert (clamped["access"], clamped["maxTimeMS"]) == (8, 20)
    assert plain["grant"] == 6 and plain["skipAcl"] is False and plain["paths"] == ["a", "b"]
    assert (access, max_time) == (8, 30000)
    assert set_options["limit"] == 4 and set_options["skipAcl"] is True and "grant" not in set_options


def test_aggregation_stages_in_call_order(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const c = X.aggregate([{$match: {c_on: true}}]).limit(2).sort({x: 1}).skipAcl().grant(4)
          .project({_id: 1, first: 'name.first'}).group({_id: null, n: {$count: '_id'}}).skip(1)
          .unwind('c_tags').addFields({c_z: 1}).match({c_n: 1})
        return [
          c.getOptions(),
          X.aggregate('oops').getOptions().pipeline,
          X.aggregate().pipeline([{$limit: 1}]).limit(false).getOptions(),
          typeof c.count, typeof c.where, typeof c.paths, typeof c.include, typeof c.expand, typeof c.pathRead,
          X.aggregate().limit(3).toArray().length,
        ]
        """,
    )
    options, oops, replaced, *missing, limited = value
    assert options == {
        "object": "c_thing",
        "operation": "aggregate",
        "pipeline": [
            {"$match": {"c_on": True}},
            {"$limit": 2},
            {"$sort": {"x": 1}},
            {"$project": {"_id": 1, "first": "name.first"}},
            {"$group": {"_id": None, "n": {"$count": "_id"}}},
            {"$skip": 1},
            {"$unwind": "c_tags"},
            {"$addFields": {"c_z": 1}},
            {"$match": {"c_n": 1}},
        ],
        "batchSize": 100,
        "maxTimeMS": 10000,
        "skipAcl": True,
        "grant": 4,
    }
    assert oops == []
    assert replaced["pipeline"] == [{"$limit": 1}] and replaced["limit"] is False
    assert missing == ["undefined"] * 6
    assert limited == 3


def test_passthru_opens_without_reading(host):
    value = run(host, "return org.objects.c_things.find().passthru()")
    assert value == {"object": "cursor", "_id": "cursor1"}
    assert host.calls[-1][0] == "objects.cursor.open" and host.calls[-1][1][0]["passthru"] is True
    assert len(host.cursors["cursor1"]) == 25


def test_wrap_gives_instances(host):
    value = run(
        host,
        "const d = org.objects.c_things.find().wrap().next(); return [d instanceof org.objects.c_thing, d instanceof CortexObject, d.object, d.c_n]",
    )
    assert value == [True, True, "c_thing", 0]


def _streamed(host: FakeHost, source: str) -> tuple[dict[str, str], str]:
    # stream() writes the route's HTTP response, so the run needs a request.
    request = {"method": "GET", "path": "/routes/things", "headers": {}, "query": {}, "params": {}, "body": None}
    result = Sandbox(cache_dir=None, host_api=host).run(source, script_type="route", request=request)
    assert result.ok, result.fault and result.fault.to_json()
    assert result.response is not None
    return result.response["headers"], result.response["body"]


def test_stream_writes_a_json_list(host):
    host.data["c_thing"] = things(3)
    headers, body = _streamed(host, "org.objects.c_things.find().stream()")
    assert headers == {"content-type": "application/json"}
    assert body.startswith('{ "data": [') and body.endswith('], "object": "list", "hasMore": false}')
    assert [d["c_n"] for d in json.loads(body)["data"]] == [0, 1, 2]

    _, body = _streamed(host, "org.objects.c_things.find().stream((d, n) => n < 2, d => d.c_n)")
    assert json.loads(body) == {"data": [0, 1], "object": "list", "hasMore": True}

    _, body = _streamed(host, "org.objects.c_things.find().stream(d => { throw Fault.create('kAccessDenied', {reason: 'no'}) })")
    fault = json.loads(body)
    assert fault["object"] == "fault" and fault["code"] == "kAccessDenied" and fault["reason"] == "no"


# ---- operations ------------------------------------------------------------


def test_operation_options(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        return [
          X.insertOne({}).getOptions(),
          X.insertOne({c_key: 'k'}).paths('c_key').bypassCreateAcl().dryRun().getOptions(),
          X.insertOne({c_key: 'k'}).lean('modified').skipAcl().grant('update').locale('en_US').getOptions(),
          X.insertMany({c_key: 'a'}).getOptions(),
          X.insertMany().getOptions(),
          X.updateOne({c_key: 'k'}, {$set: {c_key: 'x'}}).merge().getOptions(),
          X.updateMany({$set: {c_x: 1}}).limit(5).getOptions(),
          X.updateMany({c_y: 2}, {$set: {c_x: 1}}).getOptions(),
          X.patchOne({c_key: 'k'}, [{op: 'set', value: {c_n: 1}}]).pathPrefix('c_doc').getOptions(),
          X.patchMany([{op: 'unset', value: {c_n: 1}}]).getOptions(),
          X.deleteOne().getOptions(),
          X.deleteOne({c_k: 1}).disableTriggers().getOptions(),
          X.deleteMany({c_tmp: true}).limit(2).getOptions(),
          X.readOne({c_key: 'k'}).paths('c_key').path('c_nested').throwNotFound(false).maxTimeMS(1).getOptions(),
        ]
        """,
    )
    assert value == [
        {"object": "c_thing", "operation": "insertOne", "document": {}},
        {"object": "c_thing", "operation": "insertOne", "lean": False, "paths": ["c_key"], "bypassCreateAcl": True, "dryRun": True, "document": {"c_key": "k"}},
        {"object": "c_thing", "operation": "insertOne", "lean": "modified", "skipAcl": True, "grant": 6, "locale": "en_US", "document": {"c_key": "k"}},
        {"object": "c_thing", "operation": "insertMany", "documents": [{"c_key": "a"}]},
        {"object": "c_thing", "operation": "insertMany", "documents": []},
        {"object": "c_thing", "operation": "updateOne", "mergeDocuments": True, "match": {"c_key": "k"}, "update": {"$set": {"c_key": "x"}}},
        {"object": "c_thing", "operation": "updateMany", "limit": 5, "match": {}, "update": {"$set": {"c_x": 1}}},
        {"object": "c_thing", "operation": "updateMany", "match": {"c_y": 2}, "update": {"$set": {"c_x": 1}}},
        {"object": "c_thing", "operation": "patchOne", "lean": False, "path": "c_doc", "match": {"c_key": "k"}, "ops": [{"op": "set", "value": {"c_n": 1}}]},
        {"object": "c_thing", "operation": "patchMany", "match": {}, "ops": [{"op": "unset", "value": {"c_n": 1}}]},
        {"object": "c_thing", "operation": "deleteOne", "match": {}},
        {"object": "c_thing", "operation": "deleteOne", "disableTriggers": True, "match": {"c_k": 1}},
        {"object": "c_thing", "operation": "deleteMany", "limit": 2, "match": {"c_tmp": True}},
        {"object": "c_thing", "operation": "readOne", "paths": ["c_key"], "path": "c_nested", "throwNotFound": False, "maxTimeMS": 10, "where": {"c_key": "k"}},
    ]


def test_execute_sends_get_options(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const id = X.insertOne({c_key: 'k'}).execute()
        const doc = X.insertOne({c_key: 'k'}).lean(false).execute()
        return [id instanceof ObjectID, doc.object, X.updateOne({c_key: 'k'}, {$set: {c_key: 'x'}}).execute(),
                X.deleteOne({c_key: 'x'}).execute(), X.deleteMany({c_tmp: true}).execute(), X.count(), X.count({c_n: 1}),
                X.setOwner(new ObjectID('0000000000000000000000ee'), new ObjectID('0000000000000000000000aa')),
                X.setOwner(new ObjectID('0000000000000000000000ee'), 'someone@example.org'),
                X.readOne({c_key: 'k'}).execute()]
        """,
    )
    assert value[0] is True and value[1] == "c_thing"
    assert value[2:] == ["updateOne", True, 3, 25, 1, False, True, "readOne"]
    sent = executed(host)
    assert sent[2] == {"object": "c_thing", "operation": "updateOne", "match": {"c_key": "k"}, "update": {"$set": {"c_key": "x"}}}
    assert sent[5] == {"object": "c_thing", "operation": "count"}
    assert sent[6] == {"object": "c_thing", "operation": "count", "where": {"c_n": 1}}
    assert sent[7] == {"object": "c_thing", "operation": "setOwner", "_id": ObjectId("0000000000000000000000ee"), "to": OWNER}


def test_path_writes_and_through(host):
    value = run(
        host,
        """
        const X = org.objects.c_things
        const id = new ObjectID('0000000000000000000000ee')
        X.updateOne({_id: id}).pathUpdate('c_key', 'k1c')
        X.updateOne({_id: id}).pathPrefix('c_list.0000000000000000000000ff').pathPush('c_tags', ['x'])
        X.updateOne({_id: id}).pathPatch([{op: 'set', value: {c_n: 1}}])
        X.updateOne({_id: id}).skipAcl().pathDelete('c_list.0000000000000000000000ff')
        try { X.updateOne({_id: id}, {$set: {c_a: 1}}).through('c_list').pathPrefix('a.b').execute() }
        catch (e) { return [e instanceof TypeError, e.message] }
        """,
    )
    assert value == [True, "through() and pathPrefix cannot be used together."]
    match = {"_id": ObjectId("0000000000000000000000ee")}
    assert executed(host) == [
        {"object": "c_thing", "operation": "pathUpdate", "match": match, "path": "c_key", "body": "k1c"},
        {"object": "c_thing", "operation": "pathPush", "lean": False, "match": match, "path": "c_list.0000000000000000000000ff.c_tags", "body": ["x"]},
        {"object": "c_thing", "operation": "pathPatch", "match": match, "body": [{"op": "set", "value": {"c_n": 1}}]},
        {"object": "c_thing", "operation": "pathDelete", "skipAcl": True, "match": match, "path": "c_list.0000000000000000000000ff"},
    ]


def test_bulk(host):
    value = run(
        host,
        """
        const b = org.objects.bulk()
          .add(org.objects.c_things.insertOne({c_key: 'b1'}), {name: 'ins', halt: false, ignored: 1})
          .add(org.objects.c_things.deleteMany({c_tmp: true}))
        return [b.getOptions(), b.execute(), typeof org.objects.bulk, org.objects.bulk('c_things').getOptions().object]
        """,
    )
    options, results, kind, default_object = value
    assert options == {
        "operation": "bulk",
        "batchSize": 100,
        "ops": [
            {"name": "ins", "halt": False, "object": "c_thing", "operation": "insertOne", "document": {"c_key": "b1"}},
            {"object": "c_thing", "operation": "deleteMany", "match": {"c_tmp": True}},
        ],
    }
    assert [r["path"] for r in results] == ["ins[0][0]", "deleteMany[1][0]"]
    assert (kind, default_object) == ("function", "c_thing")


# ---- classes, names, org.objects -------------------------------------------


def test_as_caches_classes_by_canonical_name(host):
    value = run(
        host,
        """
        const A = CortexObject.as('c_nums')
        return [
          CortexObject.as('c_things') === CortexObject.as('c_thing'), CortexObject.as('C_Thing').objectName,
          CortexObject.as('c_thing').name, org.objects.c_things === CortexObject.as('c_thing'),
          org.objects.C_THINGS === org.objects.c_thing, org.objects['c_' + 'things'] === org.objects.c_thing,
          org.objects.c_Unknowns.objectName, A === CortexObject.as('c_nums'),
          org.objects.c_things.find().getOptions().object,
        ]
        """,
    )
    assert value == [True, "c_thing", "c_thing", True, True, True, "c_unknowns", True, "c_thing"]
    resolved = [args[0] for name, args in host.calls if name == "objects.resolve"]
    assert len(resolved) == len({name.lower() for name in resolved})  # one lookup per name


def test_object_name_is_read_only(host):
    value = run(host, "try { org.objects.c_things.objectName = 'x' } catch (e) { return [e instanceof TypeError, org.objects.c_things.objectName] }")
    assert value == [True, "c_thing"]


def test_subclassing(host):
    value = run(
        host,
        """
        const Base = class extends CortexObject { static total() { return this.count() } }
        const Thing = Base.as('c_things')
        class c_Things extends CortexObject { static firstN() { return this.find().limit(1).next().c_n } }
        class Special extends org.objects.c_things {}
        return [
          Thing.total(), Thing.prototype instanceof Base, Thing !== CortexObject.as('c_thing'), Thing === Base.as('c_thing'),
          Thing.objectName, c_Things.objectName, c_Things.firstN(), Special.objectName,
          new Special({_id: null}).object, new Special({}) instanceof org.objects.c_things,
        ]
        """,
    )
    assert value == [25, True, True, True, "c_thing", "c_thing", 0, "c_thing", "c_thing", True]


def test_from_and_instances(host):
    oid = "0000000000000000000000ee"
    value = run(
        host,
        f"""
        const inst = CortexObject.from({{_id: '{oid}', object: 'c_things', c_n: 1}})
        let assignment = 'allowed'
        try {{ inst.c_n = 2 }} catch (e) {{ assignment = e instanceof TypeError }}
        const byId = org.objects.c_things.from('{oid}')
        return [inst instanceof org.objects.c_thing, inst._id instanceof ObjectID, inst.object, inst.c_n, assignment,
                Object.keys(inst), byId instanceof org.objects.c_thing, String(byId._id), new (org.objects.c_things)()._id]
        """,
    )
    assert value == [True, True, "c_thing", 1, True, ["_id", "object", "c_n"], True, oid, None]


def test_instance_methods(host):
    oid = ObjectId("0000000000000000000000ee")
    run(
        host,
        f"""
        const inst = org.objects.c_things.from('{oid}')
        inst.read()
        inst.read('c_nested', {{grant: 'read'}})
        inst.update({{$set: {{c_n: 5}}}}, {{skipAcl: true}})
        inst.update('c_n', 5, {{grant: 8}})
        inst.push({{c_tags: ['x']}})
        inst.push('c_tags', ['y'])
        inst.delete('c_tags.y')
        inst.patch([{{op: 'set', value: {{c_n: 1}}}}])
        inst.setOwner('someone@example.org')
        inst.delete()
        """,
    )
    match = {"_id": oid}
    assert executed(host) == [
        {"object": "c_thing", "operation": "readOne", "where": match},
        {"object": "c_thing", "operation": "readOne", "grant": 4, "path": "c_nested", "where": match},
        {"object": "c_thing", "operation": "updateOne", "skipAcl": True, "match": match, "update": {"$set": {"c_n": 5}}},
        {"object": "c_thing", "operation": "pathUpdate", "grant": 8, "match": match, "path": "c_n", "body": 5},
        {"object": "c_thing", "operation": "updateOne", "match": match, "update": {"$push": {"c_tags": ["x"]}}},
        {"object": "c_thing", "operation": "pathPush", "match": match, "path": "c_tags", "body": ["y"]},
        {"object": "c_thing", "operation": "pathDelete", "match": match, "path": "c_tags.y"},
        {"object": "c_thing", "operation": "patchOne", "match": match, "ops": [{"op": "set", "value": {"c_n": 1}}]},
        {"object": "c_thing", "operation": "setOwner", "_id": oid, "to": "someone@example.org"},
        {"object": "c_thing", "operation": "deleteOne", "match": match},
    ]


def test_org_and_modules(host):
    # require('objects') is the legacy raw objects module, not org.objects (fidelity.md §6).
    value = run(
        host,
        """
        return [require('accounts') === org.objects.accounts, org.objects.Account === org.objects.accounts,
                require('objects') !== org.objects, script.org === org, org instanceof CortexObject,
                org.objects.accounts.objectName, typeof org.objects.accounts.find, typeof CortexObject,
                Object.keys(org), typeof org.objects.toString, typeof org.objects[Symbol.iterator]]
        """,
    )
    # The global org carries {_id, code, object: 'org'} (fidelity.md §7, "org and org.configuration in scripts").
    assert value == [True, True, True, True, True, "account", "function", "function", ["_id", "code", "object"], "function", "undefined"]


def test_cortex_object_is_sealed(host):
    value = run(
        host,
        """
        let added = 'allowed'
        try { CortexObject.extra = 1 } catch (e) { added = e instanceof TypeError }
        let global = 'allowed'
        try { globalThis.CortexObject = null } catch (e) { global = e instanceof TypeError }
        class c_things extends CortexObject {}
        c_things.find = () => 'own find'
        return [added, global, c_things.find(), typeof QueryCursor, typeof BulkOperation]
        """,
    )
    assert value == [True, True, "own find", "undefined", "undefined"]


def test_principal_is_an_account_instance(host):
    me = ObjectId()
    value = run(
        host,
        """
        const p = script.principal
        p.update('name.first', 'Tim')
        return [p instanceof org.objects.accounts, p instanceof CortexObject, p.object, p.email, p.isAuthenticated(),
                p.isAnonymous(), p.isPublic(), p.isOrgAdmin(), p.isDeveloper(), p.isSupport(), p.hasRole('Administrator'),
                p.hasRole(consts.roles.provider), p.hasRole('nope'), script.originalPrincipal.equals(p._id)]
        """,
        principal={"_id": me, "object": "account", "email": "me@example.org", "name": {"first": "A"}, "roles": [ADMINISTRATOR]},
    )
    assert value == [True, True, "account", "me@example.org", True, False, False, True, True, True, True, False, False, True]
    assert executed(host) == [
        {"object": "account", "operation": "pathUpdate", "match": {"_id": me}, "path": "name.first", "body": "Tim"}
    ]


@pytest.mark.parametrize(
    ("principal", "expected"),
    [(ANONYMOUS, [False, True, False]), (PUBLIC, [False, False, True])],
)
def test_anonymous_and_public_principals(host, principal, expected):
    value = run(
        host,
        "const p = script.principal; return [p.isAuthenticated(), p.isAnonymous(), p.isPublic()]",
        principal={"_id": principal, "roles": []},
    )
    assert value == expected


def test_no_principal_needs_no_host(host):
    result = Sandbox(cache_dir=None).run("return [script.principal === null, typeof org.read, org.code]")
    assert result.value == [True, "function", "example"]

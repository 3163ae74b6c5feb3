"""require('renderer') (modules.md §24, fact 87): the Job builder's checks run in the sandbox with the
platform's messages; the calls that need the Cortex Renderer service give kNotImplemented."""

from __future__ import annotations

import gc

import pytest

from cortex_runtime.runtime import Runtime


@pytest.fixture(scope="module")
def run():
    gc.collect()  # earlier tests' engines belong to this thread: free them here
    runtime = Runtime()
    org, admin = runtime.orgs.create("render")

    def go(body: str):
        source = "const { Job } = require('renderer'); const job = new Job('api-key');\n" \
                 "try { const out = (function () { " + body + " })(); return {ok: out === undefined ? null : out} }\n" \
                 "catch (e) { return {errCode: e.errCode, code: e.code, status: e.statusCode, reason: e.reason, path: e.path} }"
        result = runtime.run(source, org=org, principal=admin)
        assert result.ok, result.fault and result.fault.to_json()
        return result.plain()

    yield go
    runtime.sandbox.release()
    gc.collect()


def reason(run, body: str) -> str:
    got = run(body)
    assert got.get("errCode") == "cortex.invalidArgument.unspecified", got
    return got["reason"]


@pytest.mark.parametrize("options", ["{}", "'a string'", "[]"])
def test_fact_87_output_options_must_be_a_non_empty_object(run, options):
    assert reason(run, f"job.addOutput('o', 'csv', ['t'], {options})") == "Output options must be a non-empty object."


def test_fact_87_messages_per_output_type(run):
    assert reason(run, "job.addOutput('o', 'txt', ['t'], {a: 1})") == "Output type: txt, does not support options."
    assert reason(run, "job.addOutput('o', 'csv', ['t'], {columnDelimiter: ':'})") == "Column delimiter must be , ; or |"
    assert reason(run, "job.addOutput('o', 'html', ['t'], {badOption: 1})") == "badOption is not a valid option for html output."
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {script: 'x.js'})") == "The Prince XML option script is not supported."
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'tagged-pdf': 'yes'})") == "The Prince XML option tagged-pdf requires the boolean argument true."
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {media: 'tv'})").startswith("The Prince XML option media must be one of")
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'page-size': 'A44'})").startswith("The Prince XML option page-size must be one of")
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'page-margin': 'wide'})") == "The Prince XML option page-margin must be a length such as 10mm."
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'pdf-profile': 'PDF/Z'})").startswith("The Prince XML option pdf-profile must be one of")
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'key-bits': 64})") == "The Prince XML option key-bits must be 40 or 128."
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'pdf-title': 'has spaces in it'})").startswith("The Prince XML option pdf-title must be a String")
    assert reason(run, "job.addOutput('o', 'pdf', ['t'], {'pdf-title': 'x'.repeat(30)})").startswith("The Prince XML option pdf-title must be a String")


def test_valid_options_are_kept_and_the_builder_chains(run):
    got = run("""
return job.addTemplate('t', '<p>{{a}}</p>').addTemplate('t', 'ignored: the name is taken')
  .addOutput('c', 'csv', ['t'], {columnDelimiter: ';', lineDelimiter: '\\r'})
  .addOutput('h', 'html', 't')
  .addOutput('p', 'pdf', ['t'], {input: 'html', media: 'print', 'page-size': 'A4', 'page-margin': '10mm', 'pdf-profile': 'PDF/A-1b',
                                 'key-bits': 128, 'tagged-pdf': true, 'pdf-title': 'Report_2024.v1'})
  .addObject('rows', [{a: 1}])
  .addSftpTarget(['c'], {host: 'sftp.example.com'}, {compress: {filename: 'out.zip', outputs: ['c']}})
  .addFileTarget('c_reports/5f0000000000000000000000/c_file', {content: 'p'})
  .addCallback('/routes/done', 'dev', {type: 'token', token: 'x'})
  .toJSON()
""")["ok"]
    assert [t["content"] for t in got["templates"]] == ["<p>{{a}}</p>"]
    assert got["outputs"]["c"]["options"] == {"columnDelimiter": ";", "lineDelimiter": "\r"}
    assert got["outputs"]["h"] == {"type": "html", "templates": ["t"]}
    assert got["outputs"]["p"]["options"]["tagged-pdf"] is True
    assert got["inputs"]["rows"] == {"type": "object", "data": [{"a": 1}]}
    assert [t["type"] for t in got["targets"]] == ["sftp", "file"] and got["targets"][1]["outputs"] == ["p"]
    assert got["callback"]["request"]["method"] == "POST"


def test_inputs_are_cursors_bulk_reads_or_data(run):
    assert run("job.addCursor('a', org.objects.accounts.find()); job.addCursor('b', org.objects.accounts.aggregate([]))") == {"ok": None}
    assert reason(run, "job.addCursor('a', [1, 2])") == "the argument is not a cursor nor a bulk operation"
    got = run("job.addCursor('a', org.objects.bulk().add(org.objects.accounts.updateOne({_id: 1}, {$set: {name: {first: 'x'}}})))")
    assert got["errCode"] == "cortex.invalidArgument.readOperationsOnly"
    assert run("job.addCursor('a', org.objects.bulk().add(org.objects.accounts.find()))") == {"ok": None}
    assert reason(run, "job.addApiRequest('a', '/accounts', 'dev', {type: 'password'})") == "credentials type must be token or signature."


def test_start_checks_references_before_anything_else(run):
    assert reason(run, "job.start()") == "A job needs at least one output."
    assert reason(run, "job.addOutput('o', 'html', ['missing']).start()") == "Output o references an unknown template: missing"
    got = reason(run, "job.addTemplate('t', 'x').addOutput('o', 'html', ['t']).addFtpTarget(['nope'], {}).start()")
    assert got == "Target ftp references an unknown output: nope"
    assert reason(run, "job.status(12)") == "jobId must be a String."


@pytest.mark.parametrize("call, method", [
    ("job.addTemplate('t', 'x').addOutput('o', 'html', ['t']).start()", "start"),
    ("job.status('abc')", "status"),
    ("job.cancel('abc')", "cancel"),
    ("job.getVersion()", "getVersion"),
])
def test_service_calls_are_not_implemented_and_say_which(run, call, method):
    got = run(call)
    assert got["code"] == "kNotImplemented" and got["status"] == 501
    assert got["errCode"] == "cortex.notImplemented.unspecified" and got["path"] == f"renderer.Job.{method}"
    assert f"Job.{method}()" in got["reason"]

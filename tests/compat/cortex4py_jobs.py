"""cortex4py 2.1.0 against the Skep engine: analyzers, responders and jobs.

Usage: python cortex4py_jobs.py <base-url> <orgadmin-api-key> <analyst-api-key>
The engine must load the Skep test catalog (services/engine/tests/fixtures/catalog), whose
cortexutils analyzer `SkepTest_Success_1_0` and responder `SkepResponder_1_0` are used here.
Exits non-zero on the first failed check, printing what was expected and what was seen.
"""

import os
import sys
import tempfile

from cortex4py.api import Api


def check(condition, message, seen=None):
    if not condition:
        detail = "" if seen is None else " (saw: {!r})".format(seen)
        print("FAILED: " + message + detail)
        sys.exit(1)


def analyzers(admin, analyst):
    definitions = [definition.id for definition in admin.analyzers.definitions()]
    check("SkepTest_Success_1_0" in definitions, "definitions lists the test analyzer", definitions)

    enabled = admin.analyzers.enable("SkepTest_Success_1_0", {"configuration": {"key": "k1"}, "jobCache": 10})
    check(enabled.name == "SkepTest_Success_1_0" and enabled.id, "enable returns the worker", enabled.json())

    updated = admin.analyzers.update(enabled.id, {"configuration": {"key": "k2", "count": 5}})
    check(updated.configuration["count"] == 5, "update changes the configuration", updated.json())

    by_type = [worker.id for worker in analyst.analyzers.get_by_type("domain")]
    check(by_type == [enabled.id], "get_by_type finds the analyzer", by_type)
    check(analyst.analyzers.get_by_name("SkepTest_Success_1_0").id == enabled.id, "get_by_name finds it")
    return enabled


def jobs(analyst, worker):
    job = analyst.analyzers.run_by_id(worker.id, {"data": "192.0.2.10", "dataType": "ip", "tlp": 2, "message": "m"}, force=1)
    check(job.status == "Waiting" and job.analyzerId == worker.id, "run_by_id submits a job", job.json())

    finished = analyst.jobs.get_report_async(job.id)
    check(finished.status == "Success", "get_report_async waits with atMost=Inf", finished.json())
    taxonomies = finished.report["summary"]["taxonomies"]
    check(len(taxonomies) == 2 and finished.report["full"]["count"] == 5, "the report is complete", finished.report)

    again = analyst.jobs.get_report(job.id)
    check(again.report["success"] is True, "get_report returns the report", again.json())

    artifacts = analyst.jobs.get_artifacts(job.id)
    check(sorted(a.dataType for a in artifacts) == ["file", "ip"], "get_artifacts lists both artifacts", [a.json() for a in artifacts])

    with tempfile.NamedTemporaryFile("wb", suffix=".txt", delete=False) as sample:
        sample.write(b"plain text sample\n")
    try:
        file_job = analyst.analyzers.run_by_name("SkepTest_Success_1_0", {"data": sample.name, "dataType": "file", "tlp": 1})
        file_report = analyst.jobs.get_report_async(file_job.id, timeout="1minute")
    finally:
        os.unlink(sample.name)
    check(file_report.status == "Success", "a file runs by name", file_report.json())
    check(file_report.report["full"]["data"] == os.path.basename(sample.name), "the worker sees the file name", file_report.report["full"])
    check(file_report.report["full"]["contentType"] == "text/plain", "the MIME type is passed", file_report.report["full"])

    found = [j.id for j in analyst.jobs.find_all({}, range="all", sort="-createdAt")]
    check(found[:2] == [file_job.id, job.id], "find_all lists the jobs newest first", found)

    check(analyst.jobs.delete(job.id) is True, "delete answers 2xx")
    remaining = [j.id for j in analyst.jobs.find_all({}, range="all")]
    check(job.id not in remaining, "a deleted job is no longer found", remaining)


def responders(admin, analyst):
    responder = admin.responders.enable("SkepResponder_1_0", {"configuration": {}})
    check(responder.id, "enable returns the responder", responder.json())
    job = analyst.responders.run_by_id(responder.id, {"dataType": "thehive:case", "data": {"title": "Phish"}, "tlp": 2})
    report = analyst.jobs.get_report_async(job.id, timeout="1 minute")
    check(report.status == "Success", "the responder succeeds", report.json())
    operations = [operation["type"] for operation in report.report["operations"]]
    check(operations == ["AddTagToCase", "AddLogToTask"], "operations come back", operations)


def main():
    url, admin_key, analyst_key = sys.argv[1:4]
    admin = Api(url, admin_key)
    analyst = Api(url, analyst_key)
    worker = analyzers(admin, analyst)
    jobs(analyst, worker)
    responders(admin, analyst)
    check(admin.analyzers.disable(worker.id) is True, "disable answers 2xx")
    print("cortex4py jobs: all checks passed")


if __name__ == "__main__":
    main()

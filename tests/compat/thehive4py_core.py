"""thehive4py 1.8.1 against Skep cases: cases, tasks, logs, observables, searches, downloads.

Usage: python thehive4py_core.py <base-url> <api-key>
The key's user needs the roles read, write and admin. Exits non-zero on the first failed
check, printing what was expected and what the service answered.
"""

import io
import sys
import uuid
import zipfile

from thehive4py.api import TheHiveApi
from thehive4py.models import Case, CaseObservable, CaseTask, CaseTaskLog, CaseTemplate, CustomFieldHelper
from thehive4py.query import And, Between, Contains, Eq, Or, String


def check(condition, message, response=None):
    if not condition:
        detail = ""
        if response is not None:
            detail = " (HTTP {} {})".format(response.status_code, response.text[:500])
        print("FAILED: " + message + detail)
        sys.exit(1)


def ids(response):
    return sorted(item["id"] for item in response.json())


def check_cases(api, run):
    response = api.health()
    check(response.status_code == 200 and response.text == "Ok", "health answers Ok", response)
    response = api.get_current_user()
    check(response.status_code == 200 and "read" in response.json()["roles"], "get_current_user", response)

    case = Case(
        title="Suspicious login " + run,
        description="From the **SIEM**",
        tlp=3,
        pap=1,
        severity=3,
        flag=True,
        tags=["siem", run],
        tasks=[CaseTask(title="Triage"), CaseTask(title="Contain", group="response")],
        customFields={},
    )
    response = api.create_case(case)
    check(response.status_code == 201, "create_case answers 201", response)
    created = response.json()
    case_id = created["id"]
    check(isinstance(created["caseId"], int), "the case has a numeric caseId", response)
    check(created["severity"] == 3 and created["tlp"] == 3 and created["pap"] == 1, "attributes kept", response)

    response = api.get_case(case_id)
    check(response.status_code == 200 and response.json()["title"] == "Suspicious login " + run, "get_case", response)

    updated = Case(json=response.json())
    updated.id = case_id
    updated.severity = 4
    updated.tags = ["siem", run, "escalated"]
    response = api.update_case(updated, fields=["severity", "tags"])
    check(response.status_code == 200 and response.json()["severity"] == 4, "update_case", response)

    whole = Case(json=api.get_case(case_id).json())
    whole.id = case_id
    whole.title = "Suspicious login " + run
    response = api.update_case(whole)
    check(response.status_code == 200 and response.json()["severity"] == 4, "update_case with every field", response)
    response = api.do_patch("/api/case/{}".format(case_id), flag=False)
    check(response.status_code == 200 and response.json()["flag"] is False, "do_patch", response)

    second = api.create_case(Case(title="Second " + run, description="d", tags=[run], severity=1)).json()
    third = api.create_case(Case(title="Third " + run, description="d", tags=[run, "other"], severity=2)).json()

    response = api.find_cases(query=Eq("tags", run), range="all", sort=["+severity"])
    check(response.status_code == 200, "find_cases answers 200", response)
    check([c["id"] for c in response.json()] == [second["id"], third["id"], case_id], "Eq query sorted by severity", response)
    response = api.find_cases(query=And(Eq("tags", run), Or(Eq("severity", 1), Eq("severity", 4))), range="all")
    check(ids(response) == sorted([second["id"], case_id]), "And/Or query", response)
    response = api.find_cases(query=And(Eq("tags", run), Between("severity", 1, 4)), range="all")
    check(ids(response) == [third["id"]], "Between is exclusive", response)
    response = api.find_cases(query=And(Eq("tags", run), Contains("tags")), range="0-2")
    check(len(response.json()) == 2 and response.headers.get("X-Total") == "3", "Contains with a range", response)
    response = api.find_cases(query=String('tags:"{}" AND severity:2'.format(run)), range="all")
    check(ids(response) == [third["id"]], "String query", response)
    first = api.find_first(query=Eq("tags", run), sort=["-severity"])
    check(first["id"] == case_id, "find_first takes the first of the sorted results")

    # What imap2thehive does: a case from a template with string custom fields.
    template = CaseTemplate(name="mail-" + run, titlePrefix="[MAIL]", metrics={}, tasks=[CaseTask(title="Read the mail")])
    response = api.create_case_template(template)
    check(response.status_code == 201, "create_case_template answers 201", response)
    fields = CustomFieldHelper().add_string("from", "a@b.example").build()
    response = api.create_case(Case(title="Mail " + run, description="body", template="mail-" + run, customFields=fields, tags=[run + "-mail"]))
    check(response.status_code == 201, "create_case from a template answers 201", response)
    from_template = response.json()
    check(from_template["title"] == "[MAIL] Mail " + run, "the template prefixes the title", response)
    check(from_template["customFields"]["from"]["string"] == "a@b.example", "string custom fields are kept", response)
    response = api.get_case_tasks(from_template["id"])
    check([t["title"] for t in response.json()] == ["Read the mail"], "the template's tasks are created", response)

    return case_id, second["id"], third["id"]


def check_tasks_and_logs(api, case_id, run):
    response = api.get_case_tasks(case_id)
    check(response.status_code == 200 and len(response.json()) == 2, "get_case_tasks lists the inline tasks", response)
    response = api.create_case_task(case_id, CaseTask(title="Investigate", description="look", group="analysis", owner="admin"))
    check(response.status_code == 201, "create_case_task answers 201", response)
    task = response.json()
    check(task["status"] == "Waiting" and task["group"] == "analysis", "task defaults", response)

    response = api.get_case_task(task["id"])
    check(response.status_code == 200 and response.json()["title"] == "Investigate", "get_case_task", response)
    response = api.get_case_tasks(case_id, query=Eq("group", "analysis"))
    check(ids(response) == [task["id"]], "get_case_tasks with a query", response)
    response = api.find_tasks(query=Eq("title", "Investigate"), range="all")
    check(task["id"] in ids(response), "find_tasks", response)

    response = api.create_task_log(task["id"], CaseTaskLog(message="Started on it"))
    check(response.status_code == 201, "create_task_log answers 201", response)
    plain_log = response.json()
    response = api.get_case_task(task["id"])
    check(response.json()["status"] == "InProgress", "a log starts a waiting task", response)

    content = b"log evidence " + run.encode()
    log = CaseTaskLog(message="With evidence", file=(io.BytesIO(content), "evidence.txt"))
    response = api.create_task_log(task["id"], log)
    check(response.status_code == 201, "create_task_log with a file answers 201", response)
    file_log = response.json()
    check(file_log["attachment"]["name"] == "evidence.txt", "the log attachment keeps its name", response)

    response = api.get_task_log(file_log["id"])
    check(response.status_code == 200 and response.json()["message"] == "With evidence", "get_task_log", response)
    response = api.get_task_logs(task["id"])
    check(ids(response) == sorted([plain_log["id"], file_log["id"]]), "get_task_logs", response)
    response = api.find_task_logs(query=Eq("message", "Started on it"), range="all")
    check(plain_log["id"] in ids(response), "find_task_logs", response)

    response = api.download_task_log_attachment(file_log["id"])
    check(response.status_code == 200 and response.content == content, "download_task_log_attachment", response)
    response = api.download_task_log_attachment(file_log["id"], archive=True)
    check(response.status_code == 200, "download_task_log_attachment as archive", response)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        check(archive.read(archive.namelist()[0], pwd=b"malware") == content, "the archive opens with the password")

    task_object = CaseTask(json=task)
    task_object.id = task["id"]
    task_object.status = "Completed"
    task_object.flag = True
    response = api.update_case_task(task_object, fields=["status", "flag"])
    check(response.status_code == 200 and response.json()["status"] == "Completed", "update_case_task", response)
    whole_task = CaseTask(json=api.get_case_task(task["id"]).json())
    whole_task.id = task["id"]
    whole_task.description = "looked"
    response = api.update_case_task(whole_task)
    check(response.status_code == 200 and response.json()["description"] == "looked", "update_case_task with every field", response)
    response = api.delete_case_task(task["id"])
    check(response.status_code == 200 and response.json()["status"] == "Cancel", "delete_case_task cancels", response)


def check_observables(api, case_id, second_id, run):
    domain = "evil-{}.example".format(run)
    observable = CaseObservable(dataType="domain", data=domain, message="C2 domain", tlp=2, ioc=True, tags=["c2"])
    response = api.create_case_observable(case_id, observable)
    check(response.status_code == 201, "create_case_observable answers 201", response)
    created = response.json()
    check(created["data"] == domain and created["ioc"] is True, "observable attributes", response)

    response = api.create_case_observable(case_id, observable)
    check(response.status_code == 400 and response.json()["type"] == "ConflictError", "a duplicate is a conflict", response)

    response = api.create_case_observable(second_id, CaseObservable(dataType="domain", data=domain, message="again"))
    check(response.status_code == 201, "the same domain in another case", response)
    response = api.get_linked_cases(case_id)
    check(response.status_code == 200 and [c["id"] for c in response.json()] == [second_id], "get_linked_cases", response)

    many = CaseObservable(dataType="ip", data=["10.0.0.1", "10.0.0.2"], message="scan sources", tags=["scan"])
    response = api.create_case_observable(case_id, many)
    check(response.status_code == 201 and len(response.json()) == 2, "several values answer an array", response)
    many_ids = [item["id"] for item in response.json()]

    content = b"MZ fake sample " + run.encode()
    sample = CaseObservable(dataType="file", data=(io.BytesIO(content), "sample.exe"), message="dropper", tlp=3, tags=["malware"])
    response = api.create_case_observable(case_id, sample)
    check(response.status_code == 201 and isinstance(response.json(), list), "a file answers 201 with an array", response)
    file_observable = response.json()[0]
    check(file_observable["attachment"]["name"] == "sample.exe", "the file keeps its name", response)

    response = api.get_case_observable(created["id"])
    check(response.status_code == 200 and response.json()["data"] == domain, "get_case_observable", response)
    response = api.get_case_observables(case_id)
    check(len(response.json()) == 4, "get_case_observables lists every observable of the case", response)
    response = api.get_case_observables(case_id, query=Eq("dataType", "ip"))
    check(len(response.json()) == 2, "get_case_observables with a query", response)
    response = api.find_observables(query=And(Eq("dataType", "domain"), Eq("data", domain)), range="all")
    check(len(response.json()) == 2, "find_observables across cases", response)

    update = CaseObservable(dataType="domain", data=domain, message="confirmed C2", tlp=3, ioc=True, tags=["c2", "confirmed"], sighted=True)
    response = api.update_case_observable(created["id"], update, fields=["message", "tlp", "tags", "sighted"])
    check(response.status_code == 200 and response.json()["tags"] == ["c2", "confirmed"], "update_case_observable", response)
    check(response.json()["sighted"] is True, "sighted updated", response)

    bulk = CaseObservable(dataType="ip", data="10.0.0.1", message="scan sources", tags=["scan", "bulk"])
    bulk.id = many_ids[0]
    response = api.update_case_observables(bulk, fields=["tags"])
    check(response.status_code == 200 and response.json()["tags"] == ["scan", "bulk"], "update_case_observables", response)

    response = api.download_observable_attachment(file_observable["id"])
    check(response.status_code == 200, "download_observable_attachment", response)
    with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
        check(archive.read(archive.namelist()[0], pwd=b"malware") == content, "the observable archive holds the file")
    response = api.download_attachment(file_observable["attachment"]["id"], filename="sample.exe")
    check(response.status_code == 200 and response.content == content, "download_attachment raw", response)

    response = api.delete_case_observable(created["id"])
    check(response.status_code == 204, "delete_case_observable answers 204", response)
    check(api.get_case_observable(created["id"]).json()["status"] == "Deleted", "the observable is soft-deleted")


def check_deletion(api, case_id, third_id):
    response = api.delete_case(third_id)
    check(response.status_code == 204, "delete_case answers 204", response)
    check(api.get_case(third_id).json()["status"] == "Deleted", "a deleted case is kept with status Deleted")
    response = api.delete_case(third_id, force=True)
    check(response.status_code == 204, "delete_case with force answers 204", response)
    check(api.get_case(third_id).status_code == 404, "a force-deleted case is gone")

    closing = Case(json=api.get_case(case_id).json())
    closing.id = case_id
    closing.status = "Resolved"
    closing.resolutionStatus = "TruePositive"
    closing.impactStatus = "NoImpact"
    closing.summary = "Contained"
    response = api.update_case(closing, fields=["status", "resolutionStatus", "impactStatus", "summary"])
    check(response.status_code == 200 and response.json()["status"] == "Resolved", "closing a case", response)
    check("endDate" in response.json(), "a closed case has an end date", response)
    open_tasks = [t for t in api.get_case_tasks(case_id).json() if t["status"] in ("Waiting", "InProgress")]
    check(not open_tasks, "closing a case closes its tasks")


def main():
    url, key = sys.argv[1], sys.argv[2]
    api = TheHiveApi(url, key)
    run = uuid.uuid4().hex[:8]
    case_id, second_id, third_id = check_cases(api, run)
    check_tasks_and_logs(api, case_id, run)
    check_observables(api, case_id, second_id, run)
    check_deletion(api, case_id, third_id)
    print("thehive4py core: all checks passed")


if __name__ == "__main__":
    main()

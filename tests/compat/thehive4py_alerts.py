"""thehive4py 1.8.1 against Skep cases: alerts, case templates and custom fields.

Usage: python thehive4py_alerts.py <base-url> <api-key>
The key's user needs the roles read, write, admin and alert. Exits non-zero on the first
failed check, printing what was expected and what the service answered.
"""

import base64
import io
import sys
import uuid

from thehive4py.api import TheHiveApi
from thehive4py.models import Alert, AlertArtifact, CaseTask, CaseTemplate, CustomField
from thehive4py.query import And, Between, Contains, Eq, Or, String


def check(condition, message, response=None):
    if not condition:
        detail = ""
        if response is not None:
            detail = " (HTTP {} {})".format(response.status_code, response.text[:500])
        print("FAILED: " + message + detail)
        sys.exit(1)


def main():
    url, key = sys.argv[1], sys.argv[2]
    api = TheHiveApi(url, key)
    run = uuid.uuid4().hex[:8]

    # Custom field and case template.
    field = CustomField(name="businessUnit" + run, description="Business unit", type="string", options=[], mandatory=False)
    response = api.create_custom_field(field)
    check(response.status_code == 200, "create_custom_field answers 200", response)
    check(api._check_if_custom_field_exists(field) is True, "the custom field exists afterwards")

    template = CaseTemplate(
        name="phishing-" + run,
        titlePrefix="[PHISH]",
        description="Phishing template",
        severity=3,
        tags=["phishing"],
        metrics={},
        tasks=[CaseTask(title="Triage"), CaseTask(title="Contain")],
    )
    response = api.create_case_template(template)
    check(response.status_code == 201, "create_case_template answers 201", response)
    template_id = response.json()["id"]
    found = api.get_case_template("phishing-" + run)
    check(found["id"] == template_id and found["titlePrefix"] == "[PHISH]", "get_case_template finds it by name")
    response = api.find_case_templates(query=Eq("name", "phishing-" + run))
    check(response.status_code == 200 and len(response.json()) == 1, "find_case_templates finds one", response)

    # Alert with artifacts, one of them a file.
    file_artifact = AlertArtifact(dataType="file", data=(io.BytesIO(b"malicious bytes " + run.encode()), "sample.txt"), message="attached")
    artifacts = [
        AlertArtifact(dataType="ip", data="10.1.2.3", message="source ip", tags=["net"]),
        AlertArtifact(dataType="domain", data="evil-" + run + ".example", tags=["dns"]),
        AlertArtifact(dataType="ip", data="10.1.2.3", message="duplicate of the first"),
        file_artifact,
    ]
    alert = Alert(
        title="Phishing " + run,
        tlp=2,
        severity=2,
        tags=["mail", run],
        description="A reported phishing mail",
        type="external",
        source="compat-test",
        sourceRef="ref-" + run,
        artifacts=artifacts,
        caseTemplate="phishing-" + run,
    )
    response = api.create_alert(alert)
    check(response.status_code == 201, "create_alert answers 201", response)
    created = response.json()
    alert_id = created["id"]
    check(created["status"] == "New" and created["follow"] is True, "a new alert is New and followed", response)
    check(len(created["artifacts"]) == 3, "duplicate artifacts are removed", response)
    files = [a for a in created["artifacts"] if a["dataType"] == "file"]
    check(len(files) == 1 and files[0]["attachment"]["name"] == "sample.txt", "the file artifact has an attachment", response)
    check(len(files[0]["attachment"]["hashes"]) == 3, "the attachment carries three hashes", response)

    response = api.create_alert(alert)
    check(response.status_code == 400 and response.json()["type"] == "ConflictError", "a duplicate alert is a 400 ConflictError", response)

    second = Alert(title="Second " + run, description="d", type="external", source="compat-test", sourceRef="other-" + run, tags=[run], severity=3,
                   artifacts=[AlertArtifact(dataType="ip", data="10.9.9.9", message="m")])
    response = api.create_alert(second)
    check(response.status_code == 201, "a second alert is created", response)
    second_id = response.json()["id"]

    # Searching.
    response = api.find_alerts(query=Eq("sourceRef", "ref-" + run))
    check(response.status_code == 200 and [a["id"] for a in response.json()] == [alert_id], "find_alerts with Eq", response)
    response = api.find_alerts(query=And(Eq("source", "compat-test"), Contains("caseTemplate")), range="all")
    check(alert_id in [a["id"] for a in response.json()] and second_id not in [a["id"] for a in response.json()], "find_alerts with And/Contains", response)
    response = api.find_alerts(query=Or(Eq("sourceRef", "ref-" + run), Eq("sourceRef", "other-" + run)), sort=["-severity"], range="all")
    check([a["id"] for a in response.json()] == [second_id, alert_id], "find_alerts with Or, sorted", response)
    response = api.find_alerts(query=And(Eq("tags", run), Between("severity", 2, 4)), range="all")
    check([a["id"] for a in response.json()] == [second_id], "find_alerts with Between (exclusive)", response)
    response = api.find_alerts(query=String("sourceRef:\"ref-" + run + "\""), range="all")
    check([a["id"] for a in response.json()] == [alert_id], "find_alerts with String", response)

    # Updating, read/unread.
    alert.title = "Phishing (updated) " + run
    alert.severity = 3
    response = api.update_alert(alert_id, alert, fields=["title", "severity"])
    check(response.status_code == 200 and response.json()["severity"] == 3, "update_alert changes fields", response)
    response = api.mark_alert_as_read(alert_id)
    check(response.status_code == 200 and response.json()["status"] == "Ignored", "mark_alert_as_read ignores it", response)
    response = api.mark_alert_as_unread(alert_id)
    check(response.status_code == 200 and response.json()["status"] == "New", "mark_alert_as_unread makes it New", response)

    # Promotion with a template, similarity.
    response = api.promote_alert_to_case(alert_id)
    check(response.status_code == 201, "promote_alert_to_case answers 201", response)
    case = response.json()
    check(case["title"] == "[PHISH] Phishing (updated) " + run, "the template prefixes the title", response)
    check("phishing" in case["tags"] and run in case["tags"], "tags come from alert and template", response)
    observables = api.get_case_observables(case["id"]).json()
    check(len(observables) == 3, "every artifact became an observable", None)
    check(all("src:external" in o["tags"] for o in observables), "observables are tagged src:<type>")
    response = api.get_alert(alert_id)
    check(response.json()["status"] == "Imported" and response.json()["case"] == case["id"], "the promoted alert is Imported")
    response = api.promote_alert_to_case(alert_id)
    check(response.status_code == 201 and response.json()["id"] == case["id"], "promoting again answers the same case", response)

    third = Alert(title="Third " + run, description="d", type="external", source="compat-test", sourceRef="third-" + run,
                  artifacts=[AlertArtifact(dataType="ip", data="10.1.2.3", message="seen before")])
    third_id = api.create_alert(third).json()["id"]
    response = api.get_alert(third_id, similar_cases=True)
    check(response.status_code == 200, "get_alert with similar cases answers 200", response)
    similar = response.json()["similarCases"]
    check([c["id"] for c in similar] == [case["id"]] and similar[0]["similarArtifactCount"] == 1, "the similar case is found", response)
    check(response.json()["artifacts"][0]["seen"] == 1, "the artifact was seen once", response)

    # Promotion without a template, merge into a case.
    response = api.promote_alert_to_case(second_id, case_template=None)
    check(response.status_code == 201 and response.json()["title"] == "Second " + run, "promotion without template", response)
    response = api.merge_alert_into_case(third_id, case["id"])
    check(response.status_code == 201, "merge_alert_into_case answers 201", response)
    check("#### Merged with alert #third-" + run in response.json()["description"], "the merge appends the description", response)

    # Deleting.
    response = api.delete_alert(third_id)
    check(response.status_code == 204, "delete_alert answers 204", response)
    response = api.get_alert(third_id)
    check(response.status_code == 404, "a deleted alert is gone", response)
    print("thehive4py alerts: all checks passed")


if __name__ == "__main__":
    main()

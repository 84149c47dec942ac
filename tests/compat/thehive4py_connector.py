"""thehive4py 1.8.1 runs an analyzer through Skep cases' engine connector and reads the report.

Usage: python thehive4py_connector.py <base-url> <api-key> <case-id> <engine-name> <analyzer>
The case must hold an observable the analyzer accepts. Exits non-zero on the first failed check.
"""

import sys
import time

import requests
from thehive4py.api import TheHiveApi


def check(condition, message, response=None):
    if not condition:
        detail = ""
        if response is not None:
            detail = " (HTTP {} {})".format(response.status_code, response.text[:500])
        print("FAILED: " + message + detail)
        sys.exit(1)


def main():
    url, key, case_id, engine, analyzer = sys.argv[1:6]
    api = TheHiveApi(url, key)

    response = api.get_case_observables(case_id)
    check(response.status_code == 200 and len(response.json()) == 1, "get_case_observables", response)
    observable = response.json()[0]

    response = api.run_analyzer(engine, observable["id"], analyzer)
    check(response.status_code == 200, "run_analyzer answers 200", response)
    job = response.json()
    check(job["status"] == "InProgress" and job["cortexId"] == engine, "the job is InProgress", response)

    # thehive4py 1.x has no job getter: read it with the same authentication, as scripts do.
    session = requests.Session()
    session.auth = api.auth
    for _ in range(600):
        response = session.get(url + "/api/connector/cortex/job/" + job["id"])
        check(response.status_code == 200, "the job can be read", response)
        if response.json()["status"] != "InProgress":
            break
        time.sleep(0.1)
    ended = response.json()
    check(ended["status"] == "Success", "the job succeeds", response)
    taxonomies = ended["report"]["summary"]["taxonomies"]
    check(len(taxonomies) > 0, "the report has taxonomies", response)

    response = api.get_case_observables(case_id)
    reports = response.json()[0]["reports"]
    check(reports.get(ended["analyzerDefinition"], {}).get("taxonomies") == taxonomies,
          "the observable carries the taxonomies", response)
    print("ok")


if __name__ == "__main__":
    main()

"""cortex4py 2.1.0 against the Skep engine: organisations, users, passwords and API keys.

Usage: python cortex4py_tenancy.py <base-url> <superadmin-api-key>
Exits non-zero on the first failed check, printing what was expected and what was seen.
"""

import sys
import uuid

from cortex4py.api import Api
from cortex4py.exceptions import (
    AuthenticationError,
    AuthorizationError,
    InvalidInputError,
    NotFoundError,
)
from cortex4py.query import And, Eq, In


def check(condition, message, seen=None):
    if not condition:
        detail = "" if seen is None else " (saw: {!r})".format(seen)
        print("FAILED: " + message + detail)
        sys.exit(1)


def raises(error_class, call, message):
    try:
        result = call()
    except error_class:
        return
    except Exception as other:  # noqa: BLE001 - report the wrong error class
        check(False, message, "{}: {}".format(type(other).__name__, other))
    check(False, message, result)


def organizations(api, run):
    name = "acme" + run
    created = api.organizations.create({"name": name, "description": "ACME SOC", "status": "Active"})
    check(created.id == name and created.name == name, "create returns the organisation", created.json())
    check(created.status == "Active" and created.description == "ACME SOC", "create keeps attributes", created.json())
    check(not any(key.startswith("_") for key in created.json()), "cortex4py drops _ keys", created.json())

    other = "beta" + run
    api.organizations.create({"name": other, "description": "Beta SOC", "status": "Active"})

    everything = api.organizations.find_all({}, range="all")
    names = [org.name for org in everything]
    check(name in names and other in names and "cortex" in names, "find_all lists every organisation", names)

    found = api.organizations.find_all(Eq("name", name), range="all")
    check([org.id for org in found] == [name], "find_all with Eq finds one", [org.id for org in found])
    both = api.organizations.find_all(In("name", [name, other]), range="all", sort="+name")
    check([org.name for org in both] == [name, other], "find_all with In and sort", [org.name for org in both])
    page = api.organizations.find_all({}, range="0-1")
    check(len(page) == 1, "range limits the page", len(page))
    one = api.organizations.find_one_by(And(Eq("name", other), Eq("status", "Active")))
    check(one is not None and one.id == other, "find_one_by finds the organisation", one and one.json())

    got = api.organizations.get_by_id(name)
    check(got.description == "ACME SOC", "get_by_id reads the organisation", got.json())
    check(api.organizations.count(Eq("name", name)) == 1, "count with a query")
    check(api.organizations.count({}) >= 3, "count everything")

    updated = api.organizations.update(name, {"description": "ACME CSIRT", "name": "ignored"})
    check(updated.description == "ACME CSIRT", "update changes the description", updated.json())

    raises(NotFoundError, lambda: api.organizations.get_by_id("missing" + run), "unknown organisation is NotFoundError")
    raises(InvalidInputError, lambda: api.organizations.create({"name": name, "description": "dup"}), "duplicate is refused")
    raises(InvalidInputError, lambda: api.organizations.update("cortex", {"description": "x"}), "cortex is immutable")
    raises(InvalidInputError, lambda: api.organizations.delete("cortex"), "cortex cannot be deleted")
    return name, other


def users(api, url, org, other_org, run):
    admin_login = "oa" + run
    created = api.users.create({
        "login": admin_login,
        "name": "Org Admin",
        "roles": ["read", "analyze", "orgadmin"],
        "organization": org,
        "password": "first-password",
    })
    check(created.id == admin_login, "users.create returns the user", created.json())
    check(created.organization == org, "the user is in the organisation", created.json())
    check(sorted(created.roles) == ["analyze", "orgadmin", "read"], "roles are kept", created.json())
    check(created.hasPassword is True and created.hasKey is False, "hasPassword/hasKey", created.json())
    check("password" not in created.json() and "key" not in created.json(), "no secrets", created.json())

    member_login = "member" + run
    api.users.create({"login": member_login, "name": "Member", "roles": ["read"], "organization": org})
    outsider_login = "outsider" + run
    api.users.create({"login": outsider_login, "name": "Outsider", "roles": ["read", "analyze"], "organization": other_org})

    everyone = [user.id for user in api.users.find_all({}, range="all")]
    check(admin_login in everyone and outsider_login in everyone, "users.find_all lists every user", everyone)
    in_org = api.users.find_all(Eq("organization", org), range="all", sort="+name")
    check([user.id for user in in_org] == [member_login, admin_login], "find_all by organisation", [u.id for u in in_org])
    one = api.users.find_one_by(Eq("roles", "orgadmin"))
    check(one is not None and one.roles is not None, "find_one_by on roles", one and one.json())
    org_users = api.organizations.get_users(org, {}, range="all")
    check(sorted(user.id for user in org_users) == sorted([admin_login, member_login]), "organizations.get_users", [u.id for u in org_users])

    got = api.users.get_by_id(member_login)
    check(got.name == "Member" and got.status == "Ok", "users.get_by_id", got.json())
    updated = api.users.update(member_login, {"name": "Member Two", "roles": ["read", "analyze"], "organization": org})
    check(updated.name == "Member Two" and sorted(updated.roles) == ["analyze", "read"], "users.update", updated.json())
    raises(NotFoundError, lambda: api.users.get_by_id("missing" + run), "unknown user is NotFoundError")
    raises(InvalidInputError, lambda: api.users.create({"login": "x" + run, "name": "x", "roles": ["god"], "organization": org}), "unknown role")
    raises(NotFoundError, lambda: api.users.create({"login": "y" + run, "name": "y", "roles": ["read"], "organization": "nowhere" + run}), "unknown organisation")

    # Keys.
    key = api.users.set_key(admin_login)
    check(isinstance(key, str) and len(key) == 32, "set_key returns a 32-character key", key)
    check(api.users.get_key(admin_login) == key, "get_key returns the same key")
    renewed = api.users.renew_key(admin_login)
    check(renewed != key and len(renewed) == 32, "renew_key returns a new key", renewed)
    check(api.users.get_by_id(admin_login).hasKey is True, "hasKey after set_key")

    orgadmin = Api(url, renewed)
    raises(AuthenticationError, lambda: Api(url, key).users.get_by_id(admin_login), "the old key no longer works")
    check(orgadmin.organizations.get_by_id(org).id == org, "an orgadmin reads its organisation")
    check(orgadmin.users.get_key(admin_login) == renewed, "an orgadmin reads its own key")
    member_key = orgadmin.users.renew_key(member_login)
    check(orgadmin.users.get_key(member_login) == member_key, "an orgadmin reads keys of its users")
    colleague = orgadmin.users.create({"login": "colleague" + run, "name": "Colleague", "roles": ["read"]})
    check(colleague.organization == org, "an orgadmin creates users in its own organisation", colleague.json())
    raises(AuthorizationError, lambda: orgadmin.users.find_all({}), "listing all users needs superadmin")
    raises(AuthorizationError, lambda: orgadmin.organizations.find_all({}), "listing organisations needs superadmin")
    raises(NotFoundError, lambda: orgadmin.users.get_by_id(outsider_login), "another organisation's user is not found")
    raises(NotFoundError, lambda: orgadmin.users.get_key(outsider_login), "another organisation's key is not found")
    raises(NotFoundError, lambda: orgadmin.organizations.get_by_id(other_org), "another organisation is not found")
    raises(AuthorizationError, lambda: orgadmin.users.update(member_login, {"roles": ["superadmin"]}), "orgadmins never grant superadmin")

    member = Api(url, member_key)
    raises(AuthorizationError, lambda: member.users.revoke_key(member_login), "only administrators revoke keys")
    check(api.users.revoke_key(member_login) is True, "revoke_key")
    raises(AuthenticationError, lambda: member.users.get_by_id(member_login), "a revoked key no longer works")
    raises(InvalidInputError, lambda: api.users.get_key(member_login), "get_key of a user without key")

    # Passwords.
    check(api.users.set_password(admin_login, "second-password") is True, "set_password")
    check(orgadmin.users.change_password(admin_login, "second-password", "third-password") is True, "change_password")
    raises(AuthorizationError, lambda: orgadmin.users.change_password(admin_login, "wrong", "x"), "change_password needs the current one")

    # Locking.
    locked = api.users.lock(colleague.id)
    check(locked.status == "Locked", "users.lock", locked.json())
    check(api.organizations.delete(other_org) is True, "organizations.delete")
    check(api.organizations.get_by_id(other_org).status == "Locked", "delete locks the organisation")
    return admin_login


def main():
    url, key = sys.argv[1], sys.argv[2]
    api = Api(url, key)
    run = uuid.uuid4().hex[:8]

    status = api.status().json()
    check(status["versions"]["Cortex"].startswith("3."), "status reports a Cortex 3 version", status)

    org, other_org = organizations(api, run)
    users(api, url, org, other_org, run)
    raises(AuthenticationError, lambda: Api(url, "not-a-key").organizations.find_all({}), "a bad key is AuthenticationError")
    print("cortex4py tenancy: OK")


if __name__ == "__main__":
    main()

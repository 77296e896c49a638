"""Log-in attempt limits for the whole site: django-axes, wired in once through settings.

Every log-in made with `django.contrib.auth.authenticate(request, ...)` goes through this backend
first: the admin's log-in form, and any other log-in form built on Django's auth views or forms,
with nothing to call from the view. Failures count per user name and client address in the
database (LOGIN_FAILURE_LIMIT, LOGIN_LOCKOUT_MINUTES); a locked-out attempt answers 429.
"""

from __future__ import annotations

from typing import Any

from axes.backends import AxesStandaloneBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest


class LoginAttemptsBackend(AxesStandaloneBackend):
    """django-axes' check, for log-ins that come with a request. `authenticate()` without one (a
    shell, `Client.login` in tests) is no log-in from the web and isn't counted."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> AbstractBaseUser | None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)

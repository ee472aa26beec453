"""The web login: the password, then a second step for staff who sign in with TOTP.

Step one checks the password (django-axes counts failures: clinic/lockout.py). Staff with a
confirmed authenticator, and every role in MFA_REQUIRED_ROLES, then get step two before any
session opens: the 6-digit code, or, for a required role not yet enrolled, the enrolment
itself (a QR code and the secret, confirmed with the first code). Until then the session
only remembers who passed step one, for PENDING_SECONDS.
"""

import time

import django_otp
import segno
from axes.handlers.proxy import AxesProxyHandler
from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model, user_login_failed
from django.contrib.auth import login as auth_login
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render, resolve_url
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django_otp.plugins.otp_totp.models import TOTPDevice

from clinic.roles import second_factor_required
from clinic.totp import check_otp, confirm_enrolment, confirmed_device, start_enrolment
from clinic.totp import secret as totp_secret

PENDING = "cycledesk_login_pending"
PENDING_SECONDS = 5 * 60


class CodeForm(forms.Form):
    otp = forms.CharField(
        label="6-digit code",
        max_length=8,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _finish(request, user, backend: str, device: TOTPDevice | None, target: str):
    user.backend = backend
    auth_login(request, user)
    if device is not None:
        django_otp.login(request, device)
    request.session.pop(PENDING, None)
    return redirect(target)


@sensitive_post_parameters()
@csrf_protect
@never_cache
def login_view(request):
    target = _next_url(request)
    if request.user.is_authenticated and request.method != "POST":
        return redirect(target)
    form = AuthenticationForm(request, data=request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        user = form.get_user()
        backend = getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1])
        if confirmed_device(user) is None and not second_factor_required(user):
            return _finish(request, user, backend, None, target)
        request.session[PENDING] = {"user": user.pk, "backend": backend, "at": time.time(), "next": target}
        return redirect("web:login_code")
    return render(request, "registration/login.html", {"form": form, "next": target})


@sensitive_post_parameters()
@csrf_protect
@never_cache
def code_view(request):
    """Step two: the current code of the user's authenticator, or enrolling one."""
    pending = request.session.get(PENDING)
    if not pending or time.time() - pending["at"] > PENDING_SECONDS:
        request.session.pop(PENDING, None)
        return redirect(settings.LOGIN_URL)
    user = get_user_model().objects.filter(pk=pending["user"], is_active=True).first()
    if user is None:
        return redirect(settings.LOGIN_URL)
    device = confirmed_device(user)
    enrolling = device is None
    if enrolling:
        device = TOTPDevice.objects.filter(pk=pending.get("device"), user=user, confirmed=False).first()
        if device is None:
            device = start_enrolment(user)
            request.session[PENDING] = {**pending, "device": device.pk}
    form = CodeForm(request.POST if request.method == "POST" else None)
    credentials = {"username": user.get_username()}
    if request.method == "POST" and not AxesProxyHandler.is_allowed(request, credentials):
        request.axes_locked_out = True  # AxesMiddleware answers with the lockout page
        return render(request, "registration/login_code.html", {"form": form}, status=429)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["otp"]
        if confirm_enrolment(device, code) if enrolling else check_otp(device, code):
            return _finish(request, user, pending["backend"], device, pending["next"])
        form.add_error("otp", "That code is not right. Use the code your authenticator app shows now.")
        # A wrong code counts towards the login lockout like a wrong password.
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
    context = {"form": form, "enrolling": enrolling, "username": user.get_username()}
    if enrolling:
        context["secret"] = totp_secret(device)
        context["qr_svg"] = segno.make(device.config_url, error="m").svg_inline(scale=4, title="Authenticator QR code")
    return render(request, "registration/login_code.html", context, status=400 if form.errors else 200)

"""The account page where a driver changes the name other drivers see."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from accounts import services
from accounts.forms import DisplayNameForm


@login_required
def display_name_edit(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = DisplayNameForm(
        request.POST if request.method == "POST" else None,
        initial={"display_name": services.display_name_of(user)},
        email=getattr(user, "email", ""),
    )
    if request.method == "POST" and form.is_valid():
        profile = services.display_name_set(user=user, name=form.cleaned_data["display_name"])
        messages.success(
            request,
            _("Other drivers now see you as %(name)s.") % {"name": profile.display_name},
        )
        return redirect("account_display_name")
    return render(
        request, "accounts/display_name.html", {"form": form}, status=400 if form.errors else 200
    )

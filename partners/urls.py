from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from partners import views

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password-reset/", views.PasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path(
        "password-reset/<uidb64>/<token>/",
        auth_views.PasswordResetConfirmView.as_view(success_url=reverse_lazy("password_reset_complete")),
        name="password_reset_confirm",
    ),
    path(
        "password-reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"
    ),
    path("switch/", views.partner_switch, name="partner_switch"),
    path("invitations/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("brand/<str:logo_sha256>/", views.partner_logo, name="partner_logo"),
    path("settings/", views.settings_details, name="settings_details"),
    path("settings/team/", views.team, name="team"),
    path("settings/team/<int:membership_id>/role/", views.team_member_role, name="team_member_role"),
    path("settings/team/<int:membership_id>/remove/", views.team_member_remove, name="team_member_remove"),
    path(
        "settings/team/invitations/<int:invitation_id>/revoke/",
        views.invitation_revoke,
        name="invitation_revoke",
    ),
]

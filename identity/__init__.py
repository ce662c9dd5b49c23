"""Who may sign in: two-factor sign-in (django-otp), the roles that require it, and the sign-in audit trail.

Owns RoleSecurity (per role: two-factor required) and SignInEvent (sign-ins, failures, sign-outs, two-factor
enrolment, verification, failures and resets), and the middleware that leads a user who must use two-factor
to enrol or to give a code before anything else.

Single sign-on (sso.py, sso_views.py): OpenID Connect through mozilla-django-oidc, the directory's role
claim mapped to roles and locations (DirectoryRoleMapping), directory accounts linked to users
(DirectoryIdentity); a user's locations are set through the hook the portal registers (hooks.py).

May import: access, files.
"""

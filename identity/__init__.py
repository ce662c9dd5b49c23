"""Who may sign in: two-factor sign-in (django-otp), the roles that require it, and the sign-in audit trail.

Owns RoleSecurity (per role: two-factor required) and SignInEvent (sign-ins, failures, sign-outs, two-factor
enrolment, verification, failures and resets), and the middleware that leads a user who must use two-factor
to enrol or to give a code before anything else.

May import: access, files.
"""

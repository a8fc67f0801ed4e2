"""The web dashboard served by `wk serve`: the portfolio, each system, each incident, and the
actions people take there — signed in with their API token or by single sign-on (OpenID
Connect), every form CSRF-protected.

Plain HTML rendered on the server (Jinja2 templates and one stylesheet inside this package, charts
as inline SVG): it works offline, without JavaScript, and on a phone.
"""

from watchkeeper.server.dashboard._oidc import sso_refusal
from watchkeeper.server.dashboard._pages import page
from watchkeeper.server.dashboard._routes import dashboard
from watchkeeper.server.dashboard._session import FormTooLarge, read_form

__all__ = ["FormTooLarge", "dashboard", "page", "read_form", "sso_refusal"]

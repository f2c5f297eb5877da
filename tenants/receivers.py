"""Signal receivers: entry points like views, each calling one service and nothing else."""

from __future__ import annotations

from tenants.services.sessions import user_session_end


def on_user_logged_out(sender, request, user, **kwargs) -> None:
    """Close the session row when someone signs out (``logout()`` sends this before it flushes
    the session, so the key is still known). Already-ended rows keep their reason."""
    session = getattr(request, "session", None) if request is not None else None
    if session is not None and session.session_key:
        user_session_end(session_key=session.session_key)

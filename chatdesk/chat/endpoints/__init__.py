"""The chat's endpoints, as `chatdesk.asgi` endpoint classes; each finds the chat's parts in
`app.state.services` (`Services`)."""

from chatdesk.chat.endpoints.api import Invite, Lan, RoomMessages, Rooms, Search, TokenRotate
from chatdesk.chat.endpoints.services import Services, services
from chatdesk.chat.endpoints.sockets import ChatSocket, Echo
from chatdesk.chat.endpoints.web import EchoPage, Healthz, Homepage, Join, unknown_path

__all__ = [
    "ChatSocket",
    "Echo",
    "EchoPage",
    "Healthz",
    "Homepage",
    "Invite",
    "Join",
    "Lan",
    "RoomMessages",
    "Rooms",
    "Search",
    "Services",
    "TokenRotate",
    "services",
    "unknown_path",
]

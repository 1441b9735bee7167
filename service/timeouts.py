"""A deadline on reading request bodies, so half-sent bodies cannot pin the server.

uvicorn has no body read timeout: a client that declares `Content-Length: 100` and sends
10 bytes keeps its request (and, with `limit_concurrency`, a connection slot) forever.
This middleware gives each chunk of a body `seconds` to arrive; past that the request is
answered 408 in the API's error shape and uvicorn closes the connection, since the body
was never read to its end. Bodies here are a few hundred bytes, so a client that needs
more than a few seconds between two chunks is not one worth waiting for.
"""

from __future__ import annotations

import asyncio

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from boussole.service import errors_http

DEFAULT_BODY_TIMEOUT = 10.0  # seconds between two chunks of a request body


class BodyReadTimeout:
    def __init__(self, app: ASGIApp, seconds: float = DEFAULT_BODY_TIMEOUT) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        body_done = False
        started = False
        timed_out = False

        async def timed_receive() -> Message:
            nonlocal body_done, timed_out
            if body_done:  # after the body, receive() waits for the disconnect: no deadline
                return await receive()
            try:
                message = await asyncio.wait_for(receive(), self.seconds)
            except TimeoutError:
                # Answer now, and tell the app the client is gone: whatever it does with
                # that (FastAPI turns it into an error response) is dropped by guarded_send.
                timed_out = body_done = True
                if not started:
                    response = errors_http.error_response(
                        408,
                        "request_timeout",
                        f"The request body did not arrive within {self.seconds:g} seconds.",
                        headers={"Connection": "close"},
                    )
                    await response(scope, receive, send)
                return {"type": "http.disconnect"}
            if message["type"] != "http.request" or not message.get("more_body", False):
                body_done = True
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if timed_out:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, timed_receive, guarded_send)

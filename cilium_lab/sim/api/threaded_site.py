"""An aiohttp application served on 127.0.0.1 from a thread of its own, with its own event loop, so that the
caller's code (a notebook, the CLI, a test) runs beside it: the embedded cluster's API server and the node
side's shell are both served this way."""

from __future__ import annotations

import asyncio
import ssl
import threading
from collections.abc import Callable

from aiohttp import web

from cilium_lab.errors import ClusterError

HOST = "127.0.0.1"
START_TIMEOUT = 10.0


class ThreadedSite:
    """`build` is called inside the site's thread, with its loop set, so that what the application creates
    belongs to that loop; `port` 0 takes a free port, read back after `start`."""

    def __init__(
        self,
        build: Callable[[], web.Application],
        *,
        what: str,
        thread: str,
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.what, self.thread, self.port, self.ssl_context = what, thread, port, ssl_context
        self._build = build
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.ssl_context else 'http'}://{HOST}:{self.port}"

    @property
    def serving(self) -> bool:
        """Whether the site's thread still runs."""
        return bool(self._thread and self._thread.is_alive())

    def start(self) -> None:
        """Serve; raises ClusterError, naming `what`, when the site cannot listen within START_TIMEOUT."""
        started = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._serve, args=(started, errors), name=self.thread, daemon=True
        )
        self._thread.start()
        if not started.wait(START_TIMEOUT) or errors:
            where = f"{HOST}:{self.port}" if self.port else HOST
            raise ClusterError(f"{self.what} did not start on {where}: {errors[0] if errors else 'timeout'}")

    def _serve(self, started: threading.Event, errors: list[BaseException]) -> None:
        self._loop = loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        runner = web.AppRunner(self._build(), shutdown_timeout=1.0, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(
                web.TCPSite(runner, HOST, self.port, ssl_context=self.ssl_context).start()
            )
            self.port = runner.addresses[0][1]
        except OSError as err:
            errors.append(err)
            started.set()
            return
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    def stop(self) -> None:
        """Stop serving and wait (at most 10 s) for the thread; a site that never started is left as it is."""
        if self._loop and self.serving:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)

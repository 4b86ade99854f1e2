"""A switchable address for two local scoring services: what a Kubernetes Service does at a blue-green
switch, on loopback. New TCP connections go to the currently selected backend; connections already open
stay where they are (kube-proxy's conntrack pins them to their pod), which is exactly why a client that
keeps a connection forever never follows a switch."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager


class SwitchProxy:
    def __init__(self, backends: dict[str, int], active: str) -> None:
        self.backends = backends
        self.active = active
        self.port = 0
        self.connections: dict[str, int] = dict.fromkeys(backends, 0)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def switch(self, colour: str) -> None:
        if colour not in self.backends:
            raise ValueError(f"colour: must be one of {sorted(self.backends)}, got {colour!r}")
        self.active = colour

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        colour = self.active  # chosen once per connection, like a Service's conntrack entry
        self.connections[colour] += 1
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.backends[colour])
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    @contextmanager
    def running(self) -> Iterator[SwitchProxy]:
        self._thread.start()
        self._ready.wait(10)
        try:
            yield self
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(5)

"""A closed-loop HTTP/1.1 load generator for short phases (asyncio, keep-alive, loopback).

wrk runs for whole seconds and reports one figure per run; B3 needs many phases of a fraction
of a second, all connections on one variant at a time, so the variants can alternate faster
than the machine's load changes. Each connection sends a request, reads the whole answer, and
sends the next; a phase ends when its time is up and every answer has arrived.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


class LoadFailure(Exception):
    """An answer other than the expected status, or a connection that failed."""


@dataclass(frozen=True)
class Phase:
    requests: int
    seconds: float  # from the start until the last answer arrived

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


class Client:
    """``connections`` keep-alive connections to one server, reused from phase to phase."""

    def __init__(self, host: str, port: int, connections: int) -> None:
        self.host, self.port, self.connections = host, port, connections
        self._streams: list[tuple[asyncio.StreamReader, asyncio.StreamWriter] | None] = [
            None
        ] * connections

    async def _stream(self, index: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        stream = self._streams[index]
        if stream is None:
            stream = await asyncio.open_connection(self.host, self.port)
            self._streams[index] = stream
        return stream

    async def _exchange(self, index: int, request: bytes, status: int) -> dict[str, str]:
        for attempt in (1, 2):  # the server may have closed an idle keep-alive connection
            reader, writer = await self._stream(index)
            try:
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
            except (ConnectionError, asyncio.IncompleteReadError):
                self._streams[index] = None
                writer.close()
                if attempt == 2:
                    raise
                continue
            lines = head.decode("latin-1").split("\r\n")
            code = int(lines[0].split()[1])
            fields = {
                name.strip().lower(): value.strip()
                for name, _, value in (line.partition(":") for line in lines[1:] if line)
            }
            await reader.readexactly(int(fields.get("content-length", "0")))
            if fields.get("connection", "").lower() == "close":
                self._streams[index] = None
                writer.close()
            if code != status:
                raise LoadFailure(f"answer {code} instead of {status}")
            return fields
        raise AssertionError("unreachable")  # the second attempt returns or raises

    async def _loop(self, index: int, request: bytes, status: int, deadline: float) -> int:
        done = 0
        while time.perf_counter() < deadline:
            await self._exchange(index, request, status)
            done += 1
        return done

    async def phase(self, request: bytes, seconds: float, status: int = 200) -> Phase:
        started = time.perf_counter()
        counts = await asyncio.gather(
            *(
                self._loop(index, request, status, started + seconds)
                for index in range(self.connections)
            )
        )
        return Phase(sum(counts), time.perf_counter() - started)

    async def mixed(
        self, requests: dict[str, bytes], seconds: float, header: str, status: int = 200
    ) -> dict[str, list[int]]:
        """Every connection sends the requests in turn (each connection starting at another
        one), for ``seconds``; the integer value of ``header`` in every answer, by request."""
        names = list(requests)
        found: dict[str, list[int]] = {name: [] for name in names}
        deadline = time.perf_counter() + seconds

        async def loop(index: int) -> None:
            turn = index
            while time.perf_counter() < deadline:
                name = names[turn % len(names)]
                fields = await self._exchange(index, requests[name], status)
                found[name].append(int(fields[header.lower()]))
                turn += 1

        await asyncio.gather(*(loop(index) for index in range(self.connections)))
        return found

    async def close(self) -> None:
        for stream in self._streams:
            if stream is not None:
                stream[1].close()
        self._streams = [None] * self.connections


def get_request(host: str, port: int, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}:{port}", "Accept: application/json"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

"""Long-polls parked on the event loop until their system's switch moves.

A parked request costs one future, not a thread, so hundreds of SDKs can wait on one process.
The feed thread publishes each move once; it is handed to the loop and resolves every future
waiting on that system at once, without another database read per client. The loop also keeps
the last state published per system: a poll asking about that very version parks on it without
reading the database, which is what every SDK does right after each answer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from watchkeeper.switch import SwitchState


class Waiters:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._parked: dict[str, dict[asyncio.Future[SwitchState | None], int]] = {}
        self._latest: dict[str, SwitchState] = {}
        self._closing = False

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._closing = False

    def publish(self, state: SwitchState) -> None:
        """Called from the feed's thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._deliver, state)

    def _deliver(self, state: SwitchState) -> None:
        self._latest[state.system] = state
        for future, after in list(self._parked.get(state.system, {}).items()):
            if state.version != after and not future.done():
                future.set_result(state)

    def release_all(self) -> None:
        """On shutdown: answer every parked poll now, so clients move to another replica
        instead of holding this one open until their wait runs out."""
        self._closing = True
        for parked in self._parked.values():
            for future in parked:
                if not future.done():
                    future.set_result(None)

    @property
    def closing(self) -> bool:
        return self._closing

    def known(self, system: str) -> SwitchState | None:
        """The newest state this process knows for `system` (published, or read since)."""
        return self._latest.get(system)

    async def current(self, system: str, read: Callable[[], Awaitable[SwitchState]]) -> SwitchState:
        """The last state published for `system`, or the store's when none was (yet)."""
        known = self._latest.get(system)
        return known if known is not None else self.keep(await read())

    def keep(self, state: SwitchState) -> SwitchState:
        """Remember a state read from the store unless a newer one was published meanwhile (both
        run on the loop's thread), so the next stream or poll of the system reads nothing."""
        known = self._latest.get(state.system)
        if known is None or known.version < state.version:
            self._latest[state.system] = state
        return state

    async def wait(
        self,
        system: str,
        after_version: int,
        timeout: float,
        read: Callable[[], Awaitable[SwitchState]],
        arrived: Callable[[], None] = lambda: None,
    ) -> SwitchState:
        """The state as soon as its version differs from `after_version`, or when `timeout`
        runs out. Parks before looking, so a flip published meanwhile cannot be missed; reads
        the database only when the last published state does not already answer. `arrived` is
        called once the system is known to exist, before parking: a poll's report is taken
        when it comes, not when it is answered."""
        future: asyncio.Future[SwitchState | None] = asyncio.get_running_loop().create_future()
        parked = self._parked.setdefault(system, {})
        parked[future] = after_version
        try:
            known = self._latest.get(system)
            if known is not None and known.version > after_version:
                arrived()
                return known
            if known is not None and known.version == after_version:
                state = known
            else:  # nothing published yet, or the caller is ahead of this replica: ask the store
                state = self.keep(await read())
            arrived()
            if state.version != after_version or self._closing:
                return state
            try:
                moved = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                return state
            return moved if moved is not None else await read()
        finally:
            parked.pop(future, None)
            if not parked and self._parked.get(system) is parked:
                del self._parked[system]

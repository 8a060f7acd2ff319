"""Auto-paging: ``async for item in client.jobs.list(...)`` walks every page."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[T]
    total: int | None


class _Pager(ABC, Generic[T]):
    """What both kinds of paging share: iteration, and collecting with a limit."""

    @abstractmethod
    def _iterate(self) -> AsyncGenerator[T, None]:
        """Each pager walks its pages its own way (page numbers, or a cursor)."""

    def __aiter__(self) -> AsyncIterator[T]:
        return self._iterate()

    async def to_list(self, limit: int | None = None) -> list[T]:
        """Collect the items (at most ``limit``); stops fetching once the limit is reached."""
        items: list[T] = []
        if limit is not None and limit <= 0:
            return items
        iterator = self._iterate()
        try:
            async for item in iterator:
                items.append(item)
                if limit is not None and len(items) >= limit:
                    break
        finally:
            await iterator.aclose()
        return items


class AsyncPager(_Pager[T]):
    """Fetches page after page (``page`` is 0-based) until a short or empty page, the reported
    ``total``, or a page with nothing new (a server that ignores ``page`` must not loop us)."""

    def __init__(
        self,
        fetch: Callable[[int, int], Awaitable[Page[T]]],
        *,
        first_page: int,
        page_size: int,
        identity: Callable[[T], str],
    ) -> None:
        if first_page < 0:
            raise ValueError("page must not be negative")
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self._fetch = fetch
        self._first_page = first_page
        self._page_size = page_size
        self._identity = identity

    async def _iterate(self) -> AsyncGenerator[T, None]:
        page = self._first_page
        seen: set[str] = set()
        while True:
            result = await self._fetch(page, self._page_size)
            fresh = [item for item in result.items if self._identity(item) not in seen]
            for item in fresh:
                seen.add(self._identity(item))
                yield item
            if self._is_last(page, result, fresh):
                return
            page += 1

    def _is_last(self, page: int, result: Page[T], fresh: list[T]) -> bool:
        if not fresh or len(result.items) < self._page_size:
            return True
        return result.total is not None and (page + 1) * self._page_size >= result.total


@dataclass(frozen=True, slots=True)
class CursorPage(Generic[T]):
    items: list[T]
    has_more: bool


class AsyncCursorPager(_Pager[T]):
    """Cursor paging (OpenAI's ``after``/``limit``/``has_more``): each page starts after the
    last item of the one before, until ``has_more`` is false, a page is empty, or a page has
    nothing new (a server that ignores ``after`` must not loop us)."""

    def __init__(
        self,
        fetch: Callable[[str | None, int], Awaitable[CursorPage[T]]],
        *,
        after: str | None,
        limit: int,
        identity: Callable[[T], str],
    ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self._fetch = fetch
        self._after = after
        self._limit = limit
        self._identity = identity

    async def _iterate(self) -> AsyncGenerator[T, None]:
        async for fresh in self.fresh_pages():
            for item in fresh:
                yield item

    async def fresh_pages(self) -> AsyncGenerator[list[T], None]:
        """Each page's items not seen on an earlier page, one list a page fetched (the last
        may be empty); for a caller that stops early on what a page held."""
        after = self._after
        seen: set[str] = set()
        while True:
            page = await self._fetch(after, self._limit)
            fresh = [item for item in page.items if self._identity(item) not in seen]
            seen.update(self._identity(item) for item in fresh)
            yield fresh
            if not fresh or not page.has_more:
                return
            after = self._identity(page.items[-1])

    async def first_page(self) -> CursorPage[T]:
        """Only the first page (``has_more`` says whether there is another)."""
        return await self._fetch(self._after, self._limit)

"""The one facade convention of `managers`: every operation is written once, as a
sync method named `<name>_sync`, and `@async_twins` gives the class its async twin
`<name>`, the seed's name (`await manager.create_session(...)`).

Why sync first: the work underneath is Django's ORM and transactions, which are sync;
the twin runs it with `sync_to_async(thread_sensitive=True)`, in the thread that holds
Django's connection (and the caller's transaction, in tests), so both forms behave the
same. A class may still define a twin by hand (say, for a narrower signature); the
decorator never overwrites one.
"""

from __future__ import annotations

import functools

from asgiref.sync import sync_to_async

SUFFIX = "_sync"


def async_twins(cls):
    for attr, method in list(vars(cls).items()):
        if attr.startswith("_") or not attr.endswith(SUFFIX) or not callable(method):
            continue
        name = attr[: -len(SUFFIX)]
        if name not in vars(cls):
            setattr(cls, name, _twin(method, name, cls))
    return cls


def _twin(method, name: str, cls):
    @functools.wraps(method)
    async def twin(self, *args, **kwargs):
        return await sync_to_async(method, thread_sensitive=True)(self, *args, **kwargs)

    twin.__name__ = name
    twin.__qualname__ = f"{cls.__qualname__}.{name}"
    twin.__doc__ = f"Async twin of `{method.__name__}`. " + (method.__doc__ or "")
    return twin

"""The Ray engine of `map_batches` (extra `ray`): the same `fn(batch, config)` as Ray tasks.

`distillate curate --engine ray [--ray-address ADDR]` connects to a running cluster (`ray start --head`
on one node, `ray start --address HEAD:6379` on the others) or, without an address, starts a local
one with this machine's CPUs. The driver keeps the catalog (single writer): tasks receive batches of
plain Python data and return plain results, which the stage writes in input order, exactly as with
the local process pool, so both engines give the same catalog contents.

Memory stays bounded: at most `max_in_flight` batches (2 per cluster CPU by default) are submitted
and not yet consumed; the config is put in the object store once and shared by every task."""

from __future__ import annotations

import atexit
from collections import deque
from typing import Any, Callable, Iterable, Iterator

from distillate.errors import DistillateError, require
from distillate.log import log

_REMOTE: list[Any] = []   # the remote wrapper of _call, built once per process
_STARTED_HERE = False


def _call(fn: Callable, batch: Any, config: Any) -> Any:
    """The task body: a top-level function so Ray pickles it by reference."""
    return fn(batch, config)


def _shutdown() -> None:
    import ray

    if ray.is_initialized():
        ray.shutdown()


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail fast on an address nobody listens at (ray.init would retry for minutes)."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" or another form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise DistillateError(f"cannot reach the Ray cluster at {address} ({e}). Start it with "
                              "`ray start --head --port=6379` (then --ray-address HEAD_IP:6379), or leave "
                              "--ray-address out for a local cluster") from e


def connect(address: str | None = None):
    """Initialise Ray once per process: join `address` (a cluster, or "auto") or start a local cluster.
    A session the caller already started (e.g. `ray.init(num_cpus=2)` in a test) is reused as is."""
    global _STARTED_HERE
    ray = require("ray", "ray")
    if ray.is_initialized():
        return ray
    kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": True,
                          "configure_logging": False}
    if address:
        _check_reachable(address)
        log.info("ray: connecting to %s", address)
        try:
            ray.init(address=address, **kw)
        except ConnectionError as e:
            raise DistillateError(f"cannot join the Ray cluster at {address}: {e}") from e
    else:
        from .executor import default_workers

        log.info("ray: starting a local cluster with %d CPU(s)", default_workers())
        ray.init(num_cpus=default_workers(), **kw)
    if not _STARTED_HERE:
        _STARTED_HERE = True
        atexit.register(_shutdown)
    return ray


def _remote(ray):
    if not _REMOTE:
        _REMOTE.append(ray.remote(num_cpus=1, max_retries=2)(_call))
    return _REMOTE[0]


def cluster_cpus(ray) -> int:
    return max(1, int(ray.cluster_resources().get("CPU", 1)))


def ray_map_batches(fn: Callable[[Any, Any], Any], batches: Iterable[Any], config: Any = None,
                    address: str | None = None, on_result: Callable[[Any], None] | None = None,
                    max_in_flight: int | None = None) -> Iterator[Any]:
    """Apply fn(batch, config) to every batch as Ray tasks; yield results in input order.

    At most `max_in_flight` tasks are pending (default: 2 per CPU of the cluster), so a lazy `batches`
    iterator is consumed only as fast as results come back: bounded memory on the driver."""
    ray = connect(address)
    remote = _remote(ray)
    limit = max_in_flight or 2 * cluster_cpus(ray)
    cfg_ref = ray.put(config)
    fn_ref = ray.put(fn)
    pending: deque = deque()

    def take():
        r = ray.get(pending.popleft())
        if on_result:
            on_result(r)
        return r

    try:
        for b in batches:
            pending.append(remote.remote(fn_ref, b, cfg_ref))
            if len(pending) >= limit:
                yield take()
        while pending:
            yield take()
    finally:
        for ref in pending:  # the consumer stopped early (error, kill): drop the rest
            ray.cancel(ref, force=True)
